import type { ConsoleSession } from './access/sessions.js';

/** What the console's middleware leaves for its pages. */
export interface ConsoleEnv {
  Variables: {
    session: ConsoleSession;
  };
}
