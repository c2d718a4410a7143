#!/usr/bin/env node
// The machine the figures come from: CPU, cores, memory, Node, OS, the disk's fsync latency
// (4 KB written then fdatasync, in the folder where the benchmark databases live) and what a
// durable SQLite commit of one small row costs there (WAL, synchronous=FULL), plus the load
// average, which says whether something else was running.
//
//   node bench/machine.mjs

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DATA_DIR, removeDb } from './lib/dataset.mjs';
import { ensureBuilt, rapportServer } from './lib/server.mjs';
import { isMain, log, percentile, writeResult } from './lib/stats.mjs';

const { SqliteStore } = await rapportServer();

function fsyncLatency(samples = 500) {
  fs.mkdirSync(DATA_DIR, { recursive: true });
  const file = path.join(DATA_DIR, 'fsync-probe');
  const fd = fs.openSync(file, 'w');
  const block = Buffer.alloc(4096, 7);
  const times = [];
  try {
    for (let i = 0; i < samples; i++) {
      fs.writeSync(fd, block, 0, block.length, (i % 64) * 4096);
      const t = performance.now();
      fs.fdatasyncSync(fd);
      times.push((performance.now() - t) * 1000);
    }
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
  return { p50Us: percentile(times, 50), p99Us: percentile(times, 99), samples };
}

function sqliteCommitLatency(samples = 500) {
  const file = path.join(DATA_DIR, 'commit-probe.db');
  removeDb(file);
  const store = SqliteStore.open(file, { synchronous: 'full' });
  // A durable commit: SQLite syncs the WAL in each commit.
  store.db.pragma('synchronous = FULL');
  const insert = store.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
  const times = [];
  for (let i = 0; i < samples; i++) {
    const t = performance.now();
    insert.run(`k${i}`, 'x'.repeat(200));
    times.push((performance.now() - t) * 1000);
  }
  store.close();
  removeDb(file);
  return { p50Us: percentile(times, 50), p99Us: percentile(times, 99), samples };
}

export function describeMachine() {
  ensureBuilt({ log });
  const cpus = os.cpus();
  let disk = null;
  try {
    const mounts = fs.readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' '));
    const root = mounts.filter((m) => m[1] && DATA_DIR.startsWith(m[1])).sort((a, b) => b[1].length - a[1].length)[0];
    if (root) disk = { device: root[0], mount: root[1], type: root[2] };
  } catch {}
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGb: +(os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    disk,
    fsync: fsyncLatency(),
    sqliteCommit: sqliteCommitLatency(),
    loadAverage: os.loadavg(),
  };
}

if (isMain(import.meta)) {
  const m = describeMachine();
  writeResult('machine', m);
  console.log(m);
}
