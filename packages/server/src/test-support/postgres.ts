// Throwaway PostgreSQL clusters for tests: initdb into a fresh temporary folder, listen on
// 127.0.0.1 only (on a free port) and on a Unix socket inside that folder, trust auth, superuser
// `postgres`. No system-wide cluster or service is used or needed, only the server binaries
// (Debian's `postgresql` package puts them in /usr/lib/postgresql/<version>/bin).
//
// One fast cluster serves the whole `postgres` vitest project (postgres-global-setup.ts starts it
// and hands its URL to the test files); a test gets its own empty database from it with
// createTestDatabase(testPostgresUrl()). Fault tests that stop or restart the server start their
// own cluster with startPostgres().
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { appendFile, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import pg from 'pg';
import { describe, inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the run's throwaway cluster, provided by postgres-global-setup.ts. */
    pgUrl: string;
  }
}

/** The environment variable the global setup puts the base URL in. */
export const TEST_PG_URL_ENV = 'RAPPORT_TEST_PG_URL';

export interface PostgresCluster {
  /** postgres://postgres@127.0.0.1:PORT/postgres (trust auth: no password). */
  url: string;
  port: number;
  dataDir: string;
  /** Stops the server (if running; `-m immediate`) and removes the temporary folder. Idempotent. */
  stop(): Promise<void>;
  /** `pg_ctl stop -m fast`, then starts again on the same port with the same data: for fault tests. */
  restart(): Promise<void>;
  /** `pg_ctl stop -m fast` (connected clients are disconnected), keeping the data folder. */
  stopNow(): Promise<void>;
  /** Starts a stopped cluster again on the same port; resolves once it accepts connections. */
  start(): Promise<void>;
}

export interface StartPostgresOptions {
  /**
   * Default true: fsync and full_page_writes off, and initdb --no-sync. Tests check behaviour,
   * not durability, and skipping fsync made starting, CREATE DATABASE, commits and restarts two
   * to five times faster on a CI-like VM. What it gives up: an OS crash or power loss can corrupt
   * the cluster, which never matters for a throwaway folder. A server process that dies
   * (SIGKILL, `pg_ctl -m immediate`) loses nothing: every commit's WAL has reached the kernel
   * before it is acknowledged.
   * synchronous_commit stays on on purpose: with fsync off, turning it off too saved nothing
   * measurable, and it breaks exactly that, as measured here: 500 autocommit inserts, then an
   * immediate stop, kept 488 rows with synchronous_commit off and all 500 with it on.
   * `{ fastUnsafe: false }` gives a normally durable cluster (fsync on), for a test about what
   * survives the machine itself going down, or a timing that must include real fsyncs.
   */
  fastUnsafe?: boolean;
}

const REQUIRED_BINARIES = ['initdb', 'pg_ctl', 'postgres'];

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isBinDir(dir: string): boolean {
  return REQUIRED_BINARIES.every((name) => isExecutableFile(join(dir, name)));
}

/**
 * The folder with PostgreSQL's server binaries (initdb, pg_ctl, postgres), or null: env PG_BIN
 * if set (and only it), else the newest /usr/lib/postgresql/<version>/bin (Debian, Ubuntu), else
 * the first folder on PATH that has all three.
 */
export function postgresAvailable(): string | null {
  const override = process.env.PG_BIN;
  if (override) return isBinDir(override) ? override : null;
  const debianRoot = '/usr/lib/postgresql';
  let versions: string[] = [];
  try {
    versions = readdirSync(debianRoot).filter((name) => /^\d+(\.\d+)?$/.test(name));
  } catch {
    // not Debian-style
  }
  versions.sort((a, b) => Number(b) - Number(a));
  for (const version of versions) {
    const dir = join(debianRoot, version, 'bin');
    if (isBinDir(dir)) return dir;
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isBinDir(dir)) return dir;
  }
  return null;
}

/** Why postgresAvailable() found nothing, and how to fix it, in one line. */
export function postgresMissingMessage(): string {
  const override = process.env.PG_BIN;
  if (override) return `PG_BIN=${override} does not contain ${REQUIRED_BINARIES.join(', ')}.`;
  return (
    `PostgreSQL server binaries (${REQUIRED_BINARIES.join(', ')}) not found in /usr/lib/postgresql/*/bin or on PATH: ` +
    'install them with `apt-get install -y postgresql` or point PG_BIN at their folder.'
  );
}

interface RunAs {
  name: string;
  uid: number;
  gid: number;
}

/**
 * initdb and postgres refuse to run as root. As root, they run as `postgres` (Debian's package
 * creates it) or else `nobody`, through runuser; otherwise as the current user.
 */
function unprivilegedUser(): RunAs | null {
  if (process.getuid?.() !== 0) return null;
  for (const name of ['postgres', 'nobody']) {
    try {
      const id = (flag: string) =>
        Number(execFileSync('id', [flag, name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      const uid = id('-u');
      const gid = id('-g');
      if (Number.isInteger(uid) && Number.isInteger(gid) && uid !== 0) return { name, uid, gid };
    } catch {
      // no such user
    }
  }
  throw new Error('Running as root, and neither a `postgres` nor a `nobody` user exists to run PostgreSQL as.');
}

function command(user: RunAs | null, file: string, args: string[]): [string, string[]] {
  return user ? ['runuser', ['-u', user.name, '--', file, ...args]] : [file, args];
}

function run(user: RunAs | null, cwd: string, file: string, args: string[]): Promise<string> {
  const [cmd, cmdArgs] = command(user, file, args);
  return new Promise((resolve, reject) => {
    // cwd: the temporary folder, which the unprivileged user can enter (unlike, say, /root).
    execFile(cmd, cmdArgs, { cwd, encoding: 'utf8', timeout: 120_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${[cmd, ...cmdArgs].join(' ')} failed: ${error.message}\n${stdout}${stderr}`));
      else resolve(stdout + stderr);
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no port'))));
    });
  });
}

function quoteConf(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

function logTail(logFile: string): string {
  try {
    return readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n');
  } catch {
    return '(no server log)';
  }
}

interface Live {
  bin: string;
  user: RunAs | null;
  root: string;
  dataDir: string;
  running: boolean;
}

// Clusters not stopped yet: if the process exits without stop() (a crash, a forgotten stop), the
// server would otherwise keep running detached, so stop them and remove their folders on exit.
const live = new Set<Live>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const cluster of live) {
      if (cluster.running) {
        const stop = ['-D', cluster.dataDir, '-m', 'immediate', '-w', 'stop'];
        const [cmd, args] = command(cluster.user, join(cluster.bin, 'pg_ctl'), stop);
        spawnSync(cmd, args, { cwd: cluster.root, stdio: 'ignore', timeout: 10_000 });
      }
      rmSync(cluster.root, { recursive: true, force: true });
    }
  });
}

/**
 * Creates and starts a throwaway cluster (initdb in a new temporary folder); resolves once it
 * accepts connections (pg_ctl -w). Takes about 1-2 s, nearly all of it initdb.
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresCluster> {
  const fastUnsafe = options.fastUnsafe ?? true;
  const bin = postgresAvailable();
  if (!bin) throw new Error(postgresMissingMessage());
  const user = unprivilegedUser();
  const root = await mkdtemp(join(tmpdir(), 'rapport-pg-'));
  const dataDir = join(root, 'data');
  const logFile = join(root, 'postgres.log');
  const settingsFile = join(dataDir, 'rapport-test.conf');
  const state: Live = { bin, user, root, dataDir, running: false };
  live.add(state);
  installExitHook();
  const pgCtl = (args: string[]) => run(user, root, join(bin, 'pg_ctl'), ['-D', dataDir, ...args]);

  const startServer = async () => {
    if (state.running) return;
    try {
      await pgCtl(['-l', logFile, '-w', '-t', '60', 'start']);
    } catch (error) {
      throw new Error(`${(error as Error).message}\nserver log:\n${logTail(logFile)}`);
    }
    state.running = true;
  };
  const stopServer = async () => {
    if (!state.running) return;
    await pgCtl(['-m', 'fast', '-w', '-t', '60', 'stop']);
    state.running = false;
  };

  let port = 0;
  try {
    if (user) await chown(root, user.uid, user.gid);
    await run(user, root, join(bin, 'initdb'), [
      '-D', dataDir,
      '-U', 'postgres',
      '--auth=trust',
      '--encoding=UTF8',
      // C: byte-order collation, the same order SQLite's default BINARY collation gives.
      '--locale=C',
      ...(fastUnsafe ? ['--no-sync'] : []),
    ]);
    await appendFile(join(dataDir, 'postgresql.conf'), "\ninclude 'rapport-test.conf'\n");
    // The port is free when picked but could be taken before the server binds it: retry then.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const settings = [
        "listen_addresses = '127.0.0.1'",
        `port = ${port}`,
        // The default, /var/run/postgresql, may not exist (and is the system cluster's).
        `unix_socket_directories = ${quoteConf(root)}`,
        'max_connections = 200',
        // See StartPostgresOptions.fastUnsafe (synchronous_commit stays on).
        ...(fastUnsafe ? ['fsync = off', 'full_page_writes = off'] : []),
      ];
      await writeFile(settingsFile, settings.join('\n') + '\n');
      if (user) await chown(settingsFile, user.uid, user.gid);
      try {
        await startServer();
        break;
      } catch (error) {
        if (attempt < 5 && /already in use/i.test((error as Error).message)) continue;
        throw error;
      }
    }
  } catch (error) {
    // Also when pg_ctl gave up waiting on a server that did come up.
    await pgCtl(['-m', 'immediate', '-w', 'stop']).catch(() => {});
    live.delete(state);
    await rm(root, { recursive: true, force: true });
    throw error;
  }

  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    start: startServer,
    stopNow: stopServer,
    async restart() {
      await stopServer();
      await startServer();
    },
    async stop() {
      if (!live.has(state)) return;
      // Immediate: the data is thrown away, so skip the shutdown checkpoint (about 1 s here).
      if (state.running) await pgCtl(['-m', 'immediate', '-w', '-t', '60', 'stop']).catch(() => {});
      state.running = false;
      live.delete(state);
      await rm(root, { recursive: true, force: true });
    },
  };
}

/**
 * Creates a new empty database (named t_<random>) on the server at baseUrl and returns its URL.
 * TEMPLATE template0: nobody can be connected to it, so concurrent calls from many test files
 * never hit "source database is being accessed by other users" as they can with template1.
 */
export async function createTestDatabase(baseUrl: string): Promise<string> {
  const name = `t_${randomBytes(8).toString('hex')}`;
  const client = new pg.Client({ connectionString: baseUrl });
  client.on('error', () => {}); // a server going away is reported by the awaited calls
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name} TEMPLATE template0`);
  } finally {
    await client.end().catch(() => {});
  }
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

function providedUrl(): string | undefined {
  const fromEnv = process.env[TEST_PG_URL_ENV];
  if (fromEnv) return fromEnv;
  try {
    return inject('pgUrl') || undefined;
  } catch {
    return undefined; // not inside a vitest worker
  }
}

/** Whether the run's test cluster is there (the `postgres` project's global setup started one). */
export function hasTestPostgres(): boolean {
  return providedUrl() !== undefined;
}

/**
 * Base URL of the run's throwaway cluster (superuser, database `postgres`): the global setup
 * puts it in process.env.RAPPORT_TEST_PG_URL (and provides it as `pgUrl`). Use it to make a
 * database of your own with createTestDatabase(), not to keep tables in.
 */
export function testPostgresUrl(): string {
  const url = providedUrl();
  if (!url) {
    throw new Error(
      `No test PostgreSQL: ${TEST_PG_URL_ENV} is not set. Tests that need PostgreSQL run in the vitest project ` +
        '`postgres` (npx vitest run --project postgres), whose globalSetup, ' +
        'packages/server/src/test-support/postgres-global-setup.ts, starts a throwaway cluster. ' +
        postgresMissingMessage(),
    );
  }
  return url;
}

/**
 * describe() for PostgreSQL-only tests. They run in the `postgres` project (env
 * RAPPORT_TEST_STORE=postgres) and are skipped elsewhere (the `node` project's glob also matches
 * test-support/postgres.test.ts), and skipped there too when PostgreSQL is not installed, except
 * under CI=true, where the global setup has already failed the run: never a silent skip in CI.
 */
export function describePostgres(name: string, fn: () => void): void {
  const inPostgresProject = process.env.RAPPORT_TEST_STORE === 'postgres';
  const run = inPostgresProject && (hasTestPostgres() || process.env.CI === 'true');
  describe.skipIf(!run)(name, fn);
}
