#!/usr/bin/env node
// The published entry point: the CLI is compiled to dist/ by `npm run build` (run on install).
import('../dist/cli.js').then((cli) => cli.main(process.argv.slice(2))).catch((error) => {
  // Only a missing dist/cli.js means "not built"; a missing dependency is reported as it is.
  if (error && error.code === 'ERR_MODULE_NOT_FOUND' && /dist[\\/]cli\.js/.test(String(error.message))) {
    console.error('rapport: the server is not built yet. Run `npm run build` at the repository root.');
  } else {
    console.error(error);
  }
  process.exit(1);
});
