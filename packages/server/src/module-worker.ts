import { Worker } from 'node:worker_threads';

/**
 * A worker running an ES module of this package. From the built files that is the module itself;
 * from the TypeScript sources (tests, `--import tsx`) the worker registers tsx first, whose hooks
 * a worker does not inherit, and resolves workspace packages to their sources as the tests do.
 */
export function startModuleWorker(entry: URL, workerData: object): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `
const { workerData } = require('node:worker_threads');
import(workerData.tsx).then(({ register }) => { register(); return import(workerData.entry); });`;
  return new Worker(bootstrap, {
    eval: true,
    workerData: { ...workerData, tsx, entry: entry.href },
    execArgv: ['--conditions=source'],
  });
}
