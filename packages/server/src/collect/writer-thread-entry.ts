// The writer thread (see writer-thread.ts): its own connection to the SQLite file, its own group
// commit, and the ingest pipeline run on it for each call the main thread posts.
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { ingest } from './pipeline.js';
import type { WriterReply, WriterRequest, WriterThreadData } from './writer-thread.js';

const port = parentPort!;
const { file, synchronous } = workerData as WriterThreadData;
// Checkpoints on a thread of their own: here they would stall every group behind them.
const store = SqliteStore.open(file, { synchronous, checkpoints: 'background' });
const reply = (message: WriterReply) => port.postMessage(message);

port.on('message', (request: WriterRequest) => {
  if (request.kind === 'close') {
    void store.close().then(() => reply({ kind: 'closed' }));
    return;
  }
  ingest(store, request.site, request.events, request.options).then(
    (result) => reply({ kind: 'done', id: request.id, result }),
    (error: unknown) => {
      const { message = String(error), code } = (error ?? {}) as { message?: string; code?: string };
      // The class's name: errors cross threads as plain data.
      const name = (error as object | null)?.constructor?.name ?? 'Error';
      reply({ kind: 'failed', id: request.id, error: { message, name, code } });
    },
  );
});
