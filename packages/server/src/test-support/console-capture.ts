import { vi } from 'vitest';

/**
 * Captures what a command prints (console.log and console.error) until `vi.restoreAllMocks()`,
 * for tests of the CLI.
 *
 * @example
 * const io = captureConsole();
 * await main(['migrate']);
 * expect(io.out()).toContain('schema version');
 */
export function captureConsole() {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ')));
  return { out: () => out.join('\n'), err: () => err.join('\n') };
}
