// Small statistics and command-line helpers shared by the scripts.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Percentile (0..100) of an unsorted array, nearest-rank. */
export function percentile(values, p) {
  if (!values.length) return NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/** Median, min and max of the runs of one figure: what BENCHMARKS.md prints. */
export function summary(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return { median: NaN, min: NaN, max: NaN, runs: [] };
  const mid = v.length >> 1;
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { median, min: v[0], max: v[v.length - 1], runs: values };
}

/** Summaries of each numeric key over a list of run results. */
export function summarize(runs, keys) {
  return Object.fromEntries(keys.map((k) => [k, summary(runs.map((r) => r[k]))]));
}

/** `--name value`, `--name=value` and `--flag` options. */
export function parseArgs(argv = process.argv.slice(2)) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) continue;
    const eq = a.indexOf('=');
    if (eq > 0) out[a.slice(2, eq)] = a.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) out[a.slice(2)] = argv[++i];
    else out[a.slice(2)] = true;
  }
  return out;
}

/** Where results go: bench/results, or bench/results/quick for `run.mjs --quick`. */
export let RESULTS_DIR = path.resolve(import.meta.dirname, '..', 'results');
export const setResultsDir = (dir) => (RESULTS_DIR = dir);

/** Writes a script's results where run.mjs reads them (bench/results/NAME.json). */
export function writeResult(name, result) {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${name}.json`);
  fs.writeFileSync(file, `${JSON.stringify({ ...result, finishedAt: new Date().toISOString(), loadAverage: os.loadavg() }, null, 2)}\n`);
  return file;
}

/**
 * The end of a script run alone: writes its results, prints its summary lines and problems, and
 * says where the results are.
 */
export function report(name, result, lines) {
  const file = writeResult(name, result);
  for (const line of lines) console.log(line);
  if (result.problems?.length) console.log('problems:', result.problems);
  console.log(`results: ${path.relative(process.cwd(), file)}`);
  return file;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export const fmt = (n, digits = 0) =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '–';

/** "median (min–max)" */
export const mmm = (s, digits = 0, unit = '') =>
  s && Number.isFinite(s.median) ? `${fmt(s.median, digits)}${unit} (${fmt(s.min, digits)}–${fmt(s.max, digits)})` : '–';

export const log = (...args) => console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...args);

/** Whether the module is the script node was started with (so a script can also be imported). */
export const isMain = (meta) => !!process.argv[1] && meta.filename === path.resolve(process.argv[1]);
