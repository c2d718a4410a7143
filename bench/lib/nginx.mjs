// Debian's nginx in front of several Rapport nodes, for the postgres step: run in the foreground
// (daemon off) from a temporary prefix, with the repository's docs/nginx/rapport.conf made to fit
// (its upstream's `server` lines replaced by the nodes, listening on 127.0.0.1 and a free port,
// its logs in the prefix). Only what has to change for a bench on one machine is changed; the
// changes are returned with the config so that the results can say what ran.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, treeCpuSeconds } from './postgres.mjs';
import { ROOT } from './server.mjs';

export const NGINX = process.env.NGINX ?? '/usr/sbin/nginx';
const DOCS_CONF = path.join(ROOT, 'docs/nginx/rapport.conf');

/** The server {} and upstream {} of the bench: docs/nginx/rapport.conf adapted, or a minimal one if that file is not there. */
function siteConf({ nodes, port, prefix, keepalive }) {
  const changes = [];
  const servers = nodes.map((u) => `    server ${new URL(u).host} max_fails=3 fail_timeout=10s;`).join('\n');
  if (!fs.existsSync(DOCS_CONF)) {
    changes.push('docs/nginx/rapport.conf was missing: a minimal upstream + proxy config');
    return {
      changes,
      text: `upstream rapport_nodes {\n${servers}\n    keepalive ${keepalive};\n}\nserver {\n    listen 127.0.0.1:${port};\n    access_log ${prefix}/access.log;\n    client_max_body_size 500k;\n    client_body_buffer_size 512k;\n    proxy_http_version 1.1;\n    proxy_set_header Connection "";\n    location / { proxy_pass http://rapport_nodes; }\n}\n`,
    };
  }
  let text = fs.readFileSync(DOCS_CONF, 'utf8');
  const replace = (re, to, what) => {
    if (!re.test(text)) throw new Error(`docs/nginx/rapport.conf: cannot find ${what} (${re}) to adapt it for the bench`);
    text = text.replace(re, to);
    changes.push(what);
  };
  // The upstream's server lines (all of them, in the upstream block only).
  text = text.replace(/(upstream\s+rapport_nodes\s*\{)([\s\S]*?)(\n\s*\})/, (_, open, body, close) => {
    const kept = body.split('\n').filter((l) => !/^\s*server\s/.test(l));
    const first = kept.findIndex((l) => l.trim() !== '');
    kept.splice(first < 0 ? 0 : first, 0, servers);
    return `${open}\n${kept.join('\n').replace(/^\n+/, '')}${close}`;
  });
  changes.push(`upstream servers: ${nodes.map((u) => new URL(u).host).join(', ')}`);
  const ka = /(\n\s*keepalive\s+)(\d+);/.exec(text);
  if (ka && Number(ka[2]) !== keepalive) {
    text = text.replace(/(\n\s*keepalive\s+)\d+;/, `$1${keepalive};`);
    changes.push(`keepalive ${ka[2]} -> ${keepalive}`);
  }
  replace(/\n\s*listen\s+\[::\]:80[^;]*;/, '', 'no IPv6 listen');
  replace(/listen\s+80[^;]*;/, `listen 127.0.0.1:${port};`, `listen 127.0.0.1:${port}`);
  replace(/access_log\s+\S+/, `access_log ${prefix}/access.log`, 'access log in the prefix');
  replace(/error_log\s+\S+/, `error_log ${prefix}/error.log`, 'error log in the prefix');
  for (const must of ['proxy_http_version 1.1', 'proxy_set_header Connection ""']) {
    if (!text.includes(must)) throw new Error(`docs/nginx/rapport.conf has no \`${must}\``);
  }
  return { changes, text };
}

/**
 * Starts nginx in front of `nodes` (their URLs); resolves once /healthz answers through it.
 * Returns `{ url, pid, conf, changes, cpuSeconds(), requestsByUpstream(), stop() }`.
 */
export async function startNginx(nodes, { keepalive = 64, workers = 'auto' } = {}) {
  if (!fs.existsSync(NGINX)) throw new Error(`nginx is not at ${NGINX} (apt-get install nginx, or set NGINX)`);
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'rapport-bench-nginx-'));
  for (const d of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) fs.mkdirSync(path.join(prefix, d), { mode: 0o777 });
  fs.chmodSync(prefix, 0o755);
  const port = await freePort();
  const site = siteConf({ nodes, port, prefix, keepalive });
  fs.writeFileSync(path.join(prefix, 'rapport.conf'), site.text);
  const main = [
    'daemon off;',
    `worker_processes ${workers};`,
    `pid ${prefix}/nginx.pid;`,
    `error_log ${prefix}/error.log warn;`,
    'events { worker_connections 4096; }',
    'http {',
    `    client_body_temp_path ${prefix}/client_body;`,
    `    proxy_temp_path ${prefix}/proxy;`,
    `    fastcgi_temp_path ${prefix}/fastcgi;`,
    `    uwsgi_temp_path ${prefix}/uwsgi;`,
    `    scgi_temp_path ${prefix}/scgi;`,
    `    include ${prefix}/rapport.conf;`,
    '}',
    '',
  ].join('\n');
  const conf = path.join(prefix, 'nginx.conf');
  fs.writeFileSync(conf, main);
  const child = spawn(NGINX, ['-p', prefix, '-e', path.join(prefix, 'error.log'), '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c) => (output += c));
  child.stderr.on('data', (c) => (output += c));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${output}\n${fs.readFileSync(path.join(prefix, 'error.log'), 'utf8')}`);
    try {
      const res = await fetch(`${url}/healthz`);
      await res.text();
      if (res.ok) break;
    } catch {}
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`nginx did not answer /healthz in time: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    pid: child.pid,
    config: site.text,
    changes: site.changes,
    source: fs.existsSync(DOCS_CONF) ? 'docs/nginx/rapport.conf' : null,
    cpuSeconds: () => treeCpuSeconds(child.pid),
    /** Requests per upstream address and per status so far, from the access log (format `rapport` of the docs). */
    accessLog() {
      const file = path.join(prefix, 'access.log');
      const byUpstream = {};
      const byStatus = {};
      if (!fs.existsSync(file)) return { byUpstream, byStatus };
      for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
        if (!line) continue;
        const up = /upstream=(\S+)/.exec(line)?.[1] ?? '?';
        const status = /" (\d{3}) /.exec(line)?.[1] ?? '?';
        byUpstream[up] = (byUpstream[up] ?? 0) + 1;
        byStatus[status] = (byStatus[status] ?? 0) + 1;
      }
      return { byUpstream, byStatus };
    },
    truncateLog() {
      const file = path.join(prefix, 'access.log');
      if (fs.existsSync(file)) fs.truncateSync(file, 0);
    },
    errorLogTail: () => {
      try {
        return fs.readFileSync(path.join(prefix, 'error.log'), 'utf8').split('\n').filter(Boolean).slice(-10);
      } catch {
        return [];
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(killer);
      }
      fs.rmSync(prefix, { recursive: true, force: true });
    },
  };
}
