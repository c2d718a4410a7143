// Reads a V8 CPU profile (`node --cpu-prof`) and says where the time went: self time per
// function and per area (our modules, Hono, Node's HTTP stack, GC, ...), the hottest source lines
// of the hottest functions (mapped back to the TypeScript sources through the source maps), and
// inclusive time of chosen functions.
//
// Note on native code: time spent inside better-sqlite3's C++ (that is, inside SQLite) has no
// JavaScript frame of its own, so V8 books it as self time of the JavaScript function that made
// the call (`ingestNow`, the transaction wrapper...). The hot-lines table shows which statement.

import fs from 'node:fs';
import path from 'node:path';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';
import { ROOT } from './server.mjs';

/** Profiles taken in a browser name scripts by URL: `urlMap` turns such URLs into local files. */
let urlMap = (url) => url;
const rel = (url) => {
  if (!url) return '';
  url = urlMap(url);
  const file = url.startsWith('file://') ? fileURLToPath(url) : url;
  return file.startsWith(ROOT) ? path.relative(ROOT, file) : file;
};

function areaOf(frame) {
  const url = rel(frame.url);
  const name = frame.functionName;
  if (name === '(garbage collector)') return 'garbage collection';
  if (name === '(idle)') return 'idle';
  if (name === '(program)') return 'V8/native, unattributed';
  if (!url) return `V8 builtins (${name || 'anonymous'})`;
  if (url.includes('node_modules/better-sqlite3')) return 'better-sqlite3 (JS wrapper + SQLite)';
  if (url.includes('node_modules/@hono/node-server')) return '@hono/node-server adapter';
  if (url.includes('node_modules/hono')) return 'Hono';
  if (url.includes('node_modules/ua-parser-js')) return 'ua-parser-js';
  if (url.startsWith('node:')) return /http|_http|net|stream|socket|llhttp|tcp/.test(url) ? 'Node HTTP, sockets, streams' : 'Node internals';
  const m = /packages\/([^/]+)\/(?:dist|src)\/(?:([^/]+)\/)?/.exec(url);
  if (m) return `@rapport/${m[1]}${m[2] && !m[2].endsWith('.js') ? `/${m[2]}` : ''}`;
  if (url.includes('node_modules/')) return url.split('node_modules/')[1].split('/')[0];
  return url;
}

const mapCache = new Map();
/** The TypeScript location of a line of a built file, when it has a source map. */
function original(url, line, column) {
  url = urlMap(url);
  const file = url.startsWith('file://') ? fileURLToPath(url) : url;
  let cached = mapCache.get(file);
  if (cached === undefined) {
    cached = null;
    try {
      if (fs.existsSync(`${file}.map`)) {
        cached = { map: new SourceMap(JSON.parse(fs.readFileSync(`${file}.map`, 'utf8'))), lines: fs.readFileSync(file, 'utf8').split('\n') };
      }
    } catch {}
    mapCache.set(file, cached);
  }
  if (!cached) return { file: rel(url), line };
  // Map the first code column of the line: column 0 is indentation, which maps nowhere useful.
  const text = cached.lines[line - 1] ?? '';
  const entry = cached.map.findEntry(line - 1, column ?? Math.max(0, text.search(/\S/)));
  if (!entry || !entry.originalSource) return { file: rel(url), line };
  const source = entry.originalSource.startsWith('file://') ? fileURLToPath(entry.originalSource) : path.resolve(path.dirname(file), entry.originalSource);
  return { file: rel(source), line: entry.originalLine + 1, name: entry.name };
}

const sourceLine = (file, line) => {
  try {
    return fs.readFileSync(path.join(ROOT, file), 'utf8').split('\n')[line - 1].trim().slice(0, 90);
  } catch {
    return '';
  }
};

/**
 * Summarizes a .cpuprofile. `inclusive` names functions whose total (self + callees) share is
 * wanted. Shares are of the busy time (idle excluded).
 */
export function summarizeProfile(file, { top = 12, inclusive = [], mapUrl, hotLines = true } = {}) {
  urlMap = mapUrl ?? ((url) => url);
  const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

  let busy = 0;
  let idle = 0;
  const functions = new Map();
  const areas = new Map();
  for (const n of profile.nodes) {
    const us = selfUs.get(n.id) ?? 0;
    if (!us) continue;
    if (n.callFrame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    busy += us;
    const f = n.callFrame;
    const where = f.url ? original(f.url, f.lineNumber + 1, f.columnNumber) : { file: '', line: 0 };
    // Minified code (the SDK's bundle): the source map knows the real name.
    const name = (f.functionName.length <= 2 && where.name) || f.functionName || '(anonymous)';
    const key = `${name}\u0000${where.file}:${where.line}`;
    const entry = functions.get(key) ?? { name, where: where.file ? `${where.file}:${where.line}` : '(native)', area: areaOf(f), us: 0, lines: new Map(), url: f.url };
    entry.us += us;
    // Hot lines within the function, from V8's per-line tick counts.
    const ticks = (n.positionTicks ?? []).reduce((a, t) => a + t.ticks, 0);
    for (const t of n.positionTicks ?? []) entry.lines.set(t.line, (entry.lines.get(t.line) ?? 0) + (us * t.ticks) / ticks);
    functions.set(key, entry);
    areas.set(entry.area, (areas.get(entry.area) ?? 0) + us);
  }

  // Inclusive time: samples whose stack contains the function (counted once per sample).
  const inclusiveUs = new Map(inclusive.map((name) => [name, 0]));
  if (inclusive.length) {
    profile.samples.forEach((id, i) => {
      const seen = new Set();
      for (let n = id; n !== undefined; n = parent.get(n)) {
        const name = byId.get(n).callFrame.functionName;
        if (inclusiveUs.has(name) && !seen.has(name)) {
          seen.add(name);
          inclusiveUs.set(name, inclusiveUs.get(name) + (profile.timeDeltas[i] ?? 0));
        }
      }
    });
  }

  const share = (us) => +((100 * us) / (busy || 1)).toFixed(1);
  const topFunctions = [...functions.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((f) => ({
      name: f.name,
      where: f.where,
      area: f.area,
      share: share(f.us),
      code: f.where !== '(native)' ? sourceLine(f.where.slice(0, f.where.lastIndexOf(':')), Number(f.where.slice(f.where.lastIndexOf(':') + 1))) : '',
      hotLines: f.url && hotLines
        ? [...f.lines]
            .sort((a, b) => b[1] - a[1])
            .slice(0, 3)
            .filter(([, us]) => share(us) >= 0.5)
            .map(([line, us]) => {
              const o = original(f.url, line);
              return { where: `${o.file}:${o.line}`, share: share(us), code: sourceLine(o.file, o.line) };
            })
        : [],
    }));
  return {
    busySeconds: +(busy / 1e6).toFixed(2),
    idleSeconds: +(idle / 1e6).toFixed(2),
    areas: [...areas].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([area, us]) => ({ area, share: share(us) })),
    topFunctions,
    inclusive: Object.fromEntries([...inclusiveUs].map(([k, us]) => [k, share(us)])),
  };
}

/** The newest .cpuprofile in a folder. */
export function newestProfile(dir) {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (!files.length) return null;
  return path.join(dir, files.map((f) => [f, fs.statSync(path.join(dir, f)).mtimeMs]).sort((a, b) => b[1] - a[1])[0][0]);
}
