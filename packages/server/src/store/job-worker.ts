import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * A worker thread for reads that take seconds over a million profiles (the ABC/RFM rankings, say):
 * on the main thread they would hold up collect and decide for everyone.
 *
 * The worker runs source text, not a module, so that it works the same from the built files and
 * from the TypeScript sources under test: `setup` is a statement that sets `context` (a database
 * connection, say) from `workerData`, with `driver` the resolved path of the package named by
 * `driver`; `jobs` defines `const jobs = { name(context, args) }`, whose functions (sync or async)
 * use nothing but their arguments and the other functions of that text (they are written in
 * TypeScript modules and handed over with `String(fn)`). Results travel by structured clone: typed
 * arrays and plain arrays are cheap, Maps of many entries are not.
 *
 * @example
 * const worker = new JobWorker({ driver: 'pg', setup: 'context = workerData.url;', jobs: 'const jobs = { url: (u) => u };', data: { url } });
 * await worker.run('url', {});
 */
export class JobWorker {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, { resolve: (result: unknown) => void; reject: (error: Error) => void }>();
  private nextId = 0;

  constructor(private readonly spec: { driver: string; setup: string; jobs: string; data: Record<string, unknown> }) {}

  run<T>(job: string, args: unknown): Promise<T> {
    const worker = (this.worker ??= this.start());
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (result: unknown) => void, reject });
      worker.postMessage({ id, job, args });
    });
  }

  /** Stops the worker (the store is closing); jobs still running fail. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    await worker?.terminate();
  }

  private start(): Worker {
    const source = `
const { parentPort, workerData } = require('node:worker_threads');
const driver = require(workerData.driver);
let context;
${this.spec.setup}
// Run from the TypeScript sources through tsx (the e2e tests, \`--import tsx\`), esbuild names
// functions with a helper of the module, which the functions' source text then calls.
const __name = (fn) => fn;
${this.spec.jobs}
parentPort.on('message', async ({ id, job, args }) => {
  try {
    parentPort.postMessage({ id, result: await jobs[job](context, args) });
  } catch (error) {
    parentPort.postMessage({ id, error: String(error && error.message) });
  }
});`;
    const driver = createRequire(import.meta.url).resolve(this.spec.driver);
    const worker = new Worker(source, { eval: true, workerData: { ...this.spec.data, driver } });
    // An idle worker must not keep the process alive.
    worker.unref();
    worker.on('message', (reply: { id: number; result?: unknown; error?: string }) => {
      const request = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (reply.error !== undefined) request?.reject(new Error(`a job of the worker failed: ${reply.error}`));
      else request?.resolve(reply.result);
    });
    const fail = (error: Error) => {
      if (this.worker === worker) this.worker = null;
      for (const request of this.pending.values()) request.reject(error);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', () => fail(new Error('the worker stopped')));
    return worker;
  }
}
