// A training thread (see train-thread.ts): the models are built here, off the thread that answers
// HTTP, from the interactions the main thread reads from the store and posts page by page.
import { parentPort, workerData } from 'node:worker_threads';
import { ModelTrainer, serializeModel } from './models/index.js';
import type { TrainReply, TrainRequest, TrainThreadData } from './train-thread.js';

const port = parentPort!;
const trainer = new ModelTrainer((workerData as TrainThreadData).options);
const reply = (message: TrainReply) => port.postMessage(message);

port.on('message', (request: TrainRequest) => {
  try {
    if (request.kind === 'add') {
      for (const interaction of request.interactions) trainer.add(interaction);
      reply({ kind: 'added' });
    } else {
      const model = trainer.finish();
      reply({ kind: 'model', data: serializeModel(model), stats: model.stats });
    }
  } catch (error) {
    reply({ kind: 'failed', message: error instanceof Error ? error.message : String(error) });
  }
});
