// The benchmarks' PostgreSQL 15 cluster, and the CPU accounting of process trees (a postgres
// server, an nginx) that the postgres step needs.
//
// Unlike the tests' throwaway clusters (packages/server/src/test-support/postgres.ts, whose
// logic this follows: initdb, trust auth, 127.0.0.1 only, a free port, `runuser -u postgres` when
// running as root), this one is durable as in production: fsync, synchronous_commit and
// full_page_writes on, initdb without --no-sync. Its data folder is kept in bench/.data/ between
// runs (the copied datasets live in it, a database per tier, like the SQLite tiers); the server
// is started for a run and stopped at its end.

import { execFile, execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';

export const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

/**
 * The settings the bench runs PostgreSQL with: durability as shipped (on), more memory than the
 * default 128 MB of shared buffers, room for many nodes' pools; max_wal_size raised from 1 GB so
 * that bulk copies do not checkpoint every few seconds (a production server gets the same).
 */
export const BENCH_SETTINGS = {
  shared_buffers: '1GB',
  max_connections: 200,
  fsync: 'on',
  synchronous_commit: 'on',
  full_page_writes: 'on',
  max_wal_size: '4GB',
  // Which statements the server spends its time in (a standard production extension; its cost
  // is a hash lookup per statement).
  shared_preload_libraries: 'pg_stat_statements',
};

/** The settings reported in the results (read back from the running server, not from the file). */
const REPORTED = ['server_version', 'shared_preload_libraries', 'shared_buffers', 'max_connections', 'fsync', 'synchronous_commit', 'full_page_writes', 'wal_level', 'wal_sync_method', 'max_wal_size', 'checkpoint_timeout', 'work_mem', 'effective_cache_size', 'random_page_cost', 'jit'];

function runAsUser() {
  if (process.getuid?.() !== 0) return null;
  for (const name of ['postgres', 'nobody']) {
    try {
      const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      if (uid) return { name, uid, gid };
    } catch {}
  }
  throw new Error('running as root, and there is neither a postgres nor a nobody user to run PostgreSQL as');
}

function as(user, file, args) {
  return user ? ['runuser', ['-u', user.name, '--', file, ...args]] : [file, args];
}

function run(user, cwd, file, args, timeout = 300_000) {
  const [cmd, cmdArgs] = as(user, file, args);
  return new Promise((resolve, reject) => {
    execFile(cmd, cmdArgs, { cwd, encoding: 'utf8', timeout, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${[cmd, ...cmdArgs].join(' ')} failed: ${error.message}\n${stdout}${stderr}`));
      else resolve(stdout + stderr);
    });
  });
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const chownR = (dir, user) => user && execFileSync('chown', ['-R', `${user.uid}:${user.gid}`, dir]);

/**
 * Starts the bench cluster in `dir` (initdb first if it has none), on 127.0.0.1 and a free port.
 * Returns `{ url, port, dir, postmasterPid, settings, urlOf(db), createDatabase(db),
 * dropDatabase(db), databases(), query(sql, values, db), cpuSeconds(), stop() }`.
 */
export async function startPostgres({ dir, settings = BENCH_SETTINGS, log = () => {} }) {
  for (const b of ['initdb', 'pg_ctl', 'postgres']) {
    if (!fs.existsSync(path.join(PG_BIN, b))) throw new Error(`PostgreSQL's ${b} is not in ${PG_BIN} (apt-get install postgresql-15, or set PG_BIN)`);
  }
  const user = runAsUser();
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'postgres.log');
  fs.mkdirSync(dir, { recursive: true });
  chownR(dir, user);
  const pgCtl = (args, timeout) => run(user, dir, path.join(PG_BIN, 'pg_ctl'), ['-D', dataDir, ...args], timeout);

  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    log(`postgres: initdb ${dataDir}`);
    fs.rmSync(dataDir, { recursive: true, force: true });
    // Durable: no --no-sync. C collation: byte order, as SQLite's BINARY (and as the tests).
    await run(user, dir, path.join(PG_BIN, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C']);
    fs.appendFileSync(path.join(dataDir, 'postgresql.conf'), "\ninclude 'rapport-bench.conf'\n");
  } else if (fs.existsSync(path.join(dataDir, 'postmaster.pid'))) {
    // A server of an earlier bench run that did not get to stop (killed): stop it first.
    await pgCtl(['-m', 'fast', '-w', '-t', '60', 'stop']).catch(() => {});
  }

  let port;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    const lines = [
      "listen_addresses = '127.0.0.1'",
      `port = ${port}`,
      `unix_socket_directories = '${dir.replace(/'/g, "''")}'`,
      ...Object.entries(settings).map(([k, v]) => `${k} = ${typeof v === 'number' ? v : `'${v}'`}`),
    ];
    const conf = path.join(dataDir, 'rapport-bench.conf');
    fs.writeFileSync(conf, `${lines.join('\n')}\n`);
    chownR(dir, user);
    try {
      await pgCtl(['-l', logFile, '-w', '-t', '120', 'start']);
      break;
    } catch (error) {
      if (attempt < 5 && /already in use/i.test(fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-2000) : '')) continue;
      throw new Error(`${error.message}\n${fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n') : ''}`);
    }
  }
  const postmasterPid = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const urlOf = (db) => {
    const u = new URL(url);
    u.pathname = `/${db}`;
    return u.toString();
  };
  const query = async (sql, values = [], db = 'postgres') => {
    const client = new pg.Client({ connectionString: urlOf(db) });
    client.on('error', () => {});
    await client.connect();
    try {
      return (await client.query(sql, values)).rows;
    } finally {
      await client.end().catch(() => {});
    }
  };
  const shown = await query('SELECT name, current_setting(name) AS value FROM unnest($1::text[]) AS name', [REPORTED]);
  const reported = Object.fromEntries(shown.map((r) => [r.name, r.value]));
  reported.listen = `127.0.0.1:${port}`;
  log(`postgres: PostgreSQL ${reported.server_version} on ${reported.listen}, shared_buffers ${settings.shared_buffers}, fsync ${reported.fsync}, synchronous_commit ${reported.synchronous_commit}`);

  if (String(settings.shared_preload_libraries ?? '').includes('pg_stat_statements')) await query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');

  let stopped = false;
  const stopNow = () => {
    if (stopped) return;
    stopped = true;
    const [cmd, args] = as(user, path.join(PG_BIN, 'pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'stop']);
    spawnSync(cmd, args, { cwd: dir, stdio: 'ignore', timeout: 70_000 });
  };
  // A bench that throws or is interrupted (Ctrl-C, a timeout's SIGTERM) must not leave the server running.
  process.once('exit', stopNow);
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      stopNow();
      process.exit(130);
    });
  }

  return {
    url,
    port,
    dir,
    postmasterPid,
    settings: reported,
    urlOf,
    query,
    async createDatabase(db) {
      await query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      await query(`CREATE DATABASE ${db} TEMPLATE template0`);
      return urlOf(db);
    },
    async dropDatabase(db) {
      await query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    },
    async databases() {
      return (await query(`SELECT datname FROM pg_database WHERE NOT datistemplate AND datname <> 'postgres'`)).map((r) => r.datname);
    },
    async sizeOf(db) {
      return Number((await query('SELECT pg_database_size($1) AS b', [db]))[0].b);
    },
    /** Forgets the statement statistics of every database (pg_stat_statements). */
    async resetStatements() {
      await query('SELECT pg_stat_statements_reset()').catch(() => {});
    },
    /** The statements of database `db` that took the most execution time since the last reset. */
    async topStatements(db, limit = 8) {
      try {
        const rows = await query(
          `SELECT s.query, s.calls, s.total_exec_time, s.mean_exec_time, s.max_exec_time, s.rows
           FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
           WHERE d.datname = $1 ORDER BY s.total_exec_time DESC LIMIT $2`,
          [db, limit],
        );
        const total = Number((await query(`SELECT coalesce(sum(s.total_exec_time), 0) AS t FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1`, [db]))[0].t);
        return {
          totalExecMs: total,
          statements: rows.map((r) => ({
            query: r.query.replace(/\s+/g, ' ').trim().slice(0, 300),
            calls: Number(r.calls),
            totalMs: r.total_exec_time,
            meanMs: r.mean_exec_time,
            maxMs: r.max_exec_time,
            rowsPerCall: Number(r.rows) / Math.max(1, Number(r.calls)),
            share: total > 0 ? r.total_exec_time / total : 0,
          })),
        };
      } catch (error) {
        return { error: error.message };
      }
    },
    /** CPU seconds of the whole server: postmaster, every live backend and helper, and every child already gone. */
    cpuSeconds: () => treeCpuSeconds(postmasterPid),
    async stop() {
      if (stopped) return;
      await pgCtl(['-m', 'fast', '-w', '-t', '60', 'stop']).catch(() => {});
      stopped = true;
    },
  };
}

const TICK = 100; // USER_HZ: /proc times are in 1/100 s on Linux.

function statOf(pid) {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(') ') + 2).split(' ');
    // After the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
    return { ppid: Number(f[1]), self: (Number(f[11]) + Number(f[12])) / TICK, children: (Number(f[13]) + Number(f[14])) / TICK };
  } catch {
    return null;
  }
}

/**
 * CPU seconds (user + system) used so far by a process tree: the root and every live descendant
 * (each with its threads), plus what the root's finished children used (cutime + cstime, which
 * the kernel adds when the root reaps them: PostgreSQL backends of closed connections, nginx
 * workers). Sum over a run = end minus start.
 */
export function treeCpuSeconds(rootPid) {
  const root = statOf(rootPid);
  if (!root) return NaN;
  const kids = new Map();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = statOf(name);
    if (!s) continue;
    if (!kids.has(s.ppid)) kids.set(s.ppid, []);
    kids.get(s.ppid).push({ pid: Number(name), ...s });
  }
  let total = root.self + root.children;
  const walk = (pid) => {
    for (const k of kids.get(pid) ?? []) {
      total += k.self;
      walk(k.pid);
    }
  };
  walk(rootPid);
  return total;
}

/** The machine's CPU time so far, from /proc/stat: busy and total seconds over all cores. */
export function machineCpuSeconds() {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest times are inside user)
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy: busy / TICK, total: (busy + idle + iowait) / TICK };
}
