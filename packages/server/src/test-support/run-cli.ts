// Runs the CLI from the TypeScript sources, for tests that need a real separate server process:
//   node --conditions=source --import tsx packages/server/src/test-support/run-cli.ts serve ...
import { main } from '../cli.js';

await main(process.argv.slice(2));
