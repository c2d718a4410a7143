// One data-generation worker: ingests the histories of a range of visitors through the real write
// path (the ingest pipeline over `SqliteStore`) into an in-memory Rapport database, and hands the result back as a
// database file on tmpfs for the main thread to append to the growing dataset.
import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { ingest, SqliteStore } from '@rapport/server';
import { visitorHistory } from './history.mjs';

parentPort.on('message', async ({ from, to, file }) => {
  try {
    const memory = SqliteStore.open(':memory:');
    const site = await memory.createSite(workerData.site);
    const events = [];
    for (let v = from; v < to; v++) for (const e of visitorHistory(v, workerData.now)) events.push(e);
    await ingest(memory, site, events);
    const profiles = memory.db.prepare('SELECT COUNT(*) FROM profiles WHERE merged_into IS NULL').pluck().get();
    fs.writeFileSync(file, memory.db.serialize());
    await memory.close();
    parentPort.postMessage({ file, events: events.length, profiles });
  } catch (error) {
    parentPort.postMessage({ file, error: String(error && error.stack ? error.stack : error) });
  }
});
