// Starting and stopping the processes under test: the built Rapport server (the way a user runs
// it, `node packages/server/bin/rapport.js serve`), the bare Hono ceiling, each as a child
// process of its own, so that the load generator (this process) never shares their event loop.

import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const ADMIN_TOKEN = 'bench-admin-token-0123456789';
const RAPPORT_BIN = path.join(ROOT, 'packages/server/bin/rapport.js');

let built = false;

/**
 * The built server's modules, imported only after the build: a static import would load the
 * dist/ of before the build, whose schema can differ from the one the workers load later.
 */
export async function rapportServer({ log = () => {} } = {}) {
  ensureBuilt({ log });
  return import('@rapport/server');
}

/**
 * Builds what the benchmarks run: the server (tsc -b, incremental: about 2 s when nothing
 * changed) and the SDK's script-tag bundle when it is missing or older than its sources.
 */
export function ensureBuilt({ log = () => {} } = {}) {
  if (built) return;
  const tsc = path.join(ROOT, 'node_modules/.bin/tsc');
  log('building the server (tsc -b packages/server)');
  execFileSync(tsc, ['-b', 'packages/server'], { cwd: ROOT, stdio: 'inherit' });
  const sdk = path.join(ROOT, 'packages/sdk/dist/sdk.js');
  const newest = newestMtime(path.join(ROOT, 'packages/sdk/src'));
  if (!fs.existsSync(sdk) || fs.statSync(sdk).mtimeMs < newest) {
    log('building the SDK (rollup -c)');
    execFileSync(path.join(ROOT, 'node_modules/.bin/rollup'), ['-c', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  }
  built = true;
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * Spawns a Node process and resolves once it prints a line matching `ready` (whose first group
 * is the URL). Returns `{ url, pid, child, stop(), output() }`; `stop()` sends SIGINT and waits
 * (SIGKILL after 20 s), so that `--cpu-prof` profiles get written.
 */
export function spawnNode(args, { ready = /running at (http:\/\/\S+)/, nodeFlags = [], env = {}, timeoutMs = 60_000 } = {}) {
  const child = spawn(process.execPath, [...nodeFlags, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let output = '';
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`process did not start in time:\n${output}`));
    }, timeoutMs);
    const onData = (chunk) => {
      output += chunk.toString();
      if (output.length > 200_000) output = output.slice(-100_000);
      const match = ready.exec(output);
      if (match && timer) {
        clearTimeout(timer);
        resolve({
          url: match[1],
          pid: child.pid,
          child,
          output: () => output,
          exited,
          async stop() {
            if (child.exitCode !== null || child.signalCode !== null) return exited;
            child.kill('SIGINT');
            const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
            const code = await exited;
            clearTimeout(killer);
            return code;
          },
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`process exited (${code}) before it was ready:\n${output}`));
    });
  });
}

/**
 * `rapport serve` on 127.0.0.1, a free port, rate limits off, synchronous=FULL (the default: every
 * commit fsynced before a 200), the bench's admin token.
 */
export function startRapport(db, { nodeFlags = [], extraArgs = [] } = {}) {
  return spawnNode(
    [
      RAPPORT_BIN, 'serve', '--host', '127.0.0.1', '--port', '0', '--db', db,
      '--rate-limit-ip', '0', '--rate-limit-site', '0', '--synchronous', 'full', '--admin-token', ADMIN_TOKEN,
      ...extraArgs,
    ],
    { nodeFlags },
  );
}

/** Calls the admin API; throws with the answer's text when it is not 2xx. */
export async function admin(url, method, pathname, body) {
  const res = await fetch(url + pathname, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${pathname}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** VmRSS and VmHWM (peak) of a process, in MB, from /proc. */
export function memoryOf(pid) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
    return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
  } catch {
    return { rssMb: NaN, peakMb: NaN };
  }
}

/** Samples a process's RSS every `everyMs` until stopped; returns { maxMb, lastMb, samples }. */
export function sampleRss(pid, everyMs = 250) {
  const samples = [];
  const take = () => samples.push(memoryOf(pid).rssMb);
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      const valid = samples.filter(Number.isFinite);
      return { maxMb: Math.max(...valid), lastMb: valid[valid.length - 1], samples: valid.length };
    },
  };
}

/** CPU seconds (user + system) a process has used so far, from /proc/PID/stat. */
export function cpuSecondsOf(pid) {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/**
 * How often the process's main thread was preempted (involuntary context switches) and how often
 * it gave up the CPU itself (voluntary), from /proc: free to read, so measured runs can carry it.
 */
export function contextSwitchesOf(pid) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8');
    return { voluntary: Number(/\bvoluntary_ctxt_switches:\s+(\d+)/.exec(status)[1]), involuntary: Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(status)[1]) };
  } catch {
    return { voluntary: NaN, involuntary: NaN };
  }
}
