#!/usr/bin/env node
// The published entry point: the CLI is compiled to dist/ by `npm run build` (run on install).
import('../dist/cli.js').then((cli) => cli.main(process.argv.slice(2))).catch((error) => {
  if (error && error.code === 'ERR_MODULE_NOT_FOUND') {
    console.error('rapport: the server is not built yet. Run `npm run build` at the repository root.');
  } else {
    console.error(error);
  }
  process.exit(1);
});
