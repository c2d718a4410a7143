// A training thread (see train-thread.ts): the stored events are parsed and the models built here,
// off the thread that answers HTTP, from the pages the main thread reads and posts one by one.
import { parentPort, workerData } from 'node:worker_threads';
import type { TrainReply, TrainRequest, TrainThreadData } from './train-thread.js';
import { TrainingInput } from './training-input.js';

const port = parentPort!;
const input = new TrainingInput((workerData as TrainThreadData).options);
const reply = (message: TrainReply) => port.postMessage(message);

port.on('message', (request: TrainRequest) => {
  try {
    if (request.kind === 'add') {
      input.add(request.rows);
      reply({ kind: 'added' });
    } else if (request.kind === 'finish') {
      reply({ kind: 'model', ...input.finish() });
    } else {
      reply({ kind: 'observed', products: input.nextObserved(request.limit) });
    }
  } catch (error) {
    reply({ kind: 'failed', message: error instanceof Error ? error.message : String(error) });
  }
});
