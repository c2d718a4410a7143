import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { parseArgs } from './cli-args.js';
import { main, SELF_SERVICE_LINK_SPEC, SERVE_SPEC as SPEC, serveConfig } from './cli.js';
import { verifySelfServiceToken } from './self-service/link.js';
import type { Site } from './store/types.js';
import { MIGRATIONS } from './store/sqlite/migrations.js';
import { spawnServer } from './test-support/process.js';
import { captureConsole } from './test-support/console-capture.js';

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

const capture = captureConsole;

describe('rapport serve options', () => {
  it('has documented defaults', () => {
    expect(serveConfig(parseArgs([], SPEC), {})).toMatchObject({
      port: 8787,
      host: '127.0.0.1',
      db: './data/rapport.db',
      adminToken: undefined,
      trustProxy: false,
      synchronous: 'full',
      writerThread: true,
      rateLimitPerIp: { rate: 50, burst: 200 },
    });
  });

  it('reads the environment, and flags win over it', () => {
    const env = { RAPPORT_PORT: '9000', RAPPORT_DB: '/tmp/x.db', RAPPORT_HOST: '0.0.0.0', RAPPORT_ADMIN_TOKEN: 'tok' };
    expect(serveConfig(parseArgs([], SPEC), env)).toMatchObject({ port: 9000, db: '/tmp/x.db', host: '0.0.0.0', adminToken: 'tok' });
    expect(serveConfig(parseArgs(['--port=9100', '--db', 'y.db'], SPEC), env)).toMatchObject({ port: 9100, db: 'y.db' });
    expect(serveConfig(parseArgs(['--rate-limit-ip', '0'], SPEC), {}).rateLimitPerIp).toBeNull();
    expect(serveConfig(parseArgs([], SPEC), { RAPPORT_POOL_SIZE: '4' }).poolSize).toBe(4);
    expect(serveConfig(parseArgs(['--pool-size', '20'], SPEC), { RAPPORT_POOL_SIZE: '4' }).poolSize).toBe(20);
    expect(serveConfig(parseArgs(['--writer-thread', 'off'], SPEC), {}).writerThread).toBe(false);
    expect(serveConfig(parseArgs(['--db', 'postgres://db.internal/rapport'], SPEC), {}).db).toBe('postgres://db.internal/rapport');
    expect(serveConfig(parseArgs(['--public-url', 'https://rapport.example.com/'], SPEC), {}).publicUrl).toBe('https://rapport.example.com');
    expect(serveConfig(parseArgs([], SPEC), { RAPPORT_PUBLIC_URL: 'https://r.example.com/base' }).publicUrl).toBe('https://r.example.com/base');
  });

  it.each([
    [['--port', 'abc'], /--port must be a whole number/],
    [['--port', '70000'], /--port must be a whole number from 0 to 65535/],
    [['--port='], /--port must be a whole number/],
    [['--rate-limit-ip', '1e3'], /--rate-limit-ip must be a whole number/],
    [['--synchronous', 'off'], /--synchronous must be full or normal/],
    [['--public-url', 'ftp://x.example'], /--public-url must be an http\(s\) URL/],
    [['--automation-lease-ms', '1000'], /--automation-lease-ms must be a whole number from 15000/],
    [['--public-url', 'https://u:p@x.example'], /--public-url must be an http\(s\) URL without/],
    [['--writer-thread', 'yes'], /--writer-thread must be on or off/],
    [['--colour'], /unknown option --colour/],
    [['--db'], /--db needs a value/],
    [['--pool-size', '0'], /--pool-size must be a whole number from 1 to 1000/],
  ])('refuses %j with a usage error', async (args, message) => {
    const io = capture();
    await main(['serve', ...args]);
    expect(io.err()).toMatch(message);
    expect(process.exitCode).toBe(2);
  });

  it('names the environment variable when that is where a bad value came from', () => {
    expect(() => serveConfig(parseArgs([], SPEC), { RAPPORT_PORT: 'abc' })).toThrow(/^RAPPORT_PORT must be a whole number/);
    expect(() => serveConfig(parseArgs(['--port', 'abc'], SPEC), { RAPPORT_PORT: '9000' })).toThrow(/^--port must be a whole number/);
    expect(serveConfig(parseArgs([], SPEC), { RAPPORT_PORT: '' }).port).toBe(8787);
    expect(serveConfig(parseArgs([], SPEC), { RAPPORT_TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(serveConfig(parseArgs([], SPEC), { RAPPORT_TRUST_PROXY: '0' }).trustProxy).toBe(false);
    expect(() => serveConfig(parseArgs([], SPEC), { RAPPORT_TRUST_PROXY: 'yes' })).toThrow(/^RAPPORT_TRUST_PROXY: "yes" is not an IP address or CIDR range/);
  });

  it('takes a hop count or a list of proxy addresses for --trust-proxy', () => {
    const trust = (argv: string[], env = {}) => serveConfig(parseArgs(argv, SPEC), env).trustProxy;
    expect(trust(['--trust-proxy'])).toBe(true);
    expect(trust(['--trust-proxy=2'])).toBe(2);
    expect(trust(['--trust-proxy=10.0.0.0/8, ::1'])).toEqual(['10.0.0.0/8', '::1']);
    expect(trust(['--trust-proxy=off'], { RAPPORT_TRUST_PROXY: '1' })).toBe(false);
    expect(trust([], { RAPPORT_TRUST_PROXY: '172.16.0.0/12' })).toEqual(['172.16.0.0/12']);
    expect(() => trust(['--trust-proxy=10.0.0.0/33'])).toThrow(/^--trust-proxy: "10.0.0.0\/33" is not an IP address or CIDR range/);
    expect(() => trust(['--trust-proxy=99'])).toThrow(/^--trust-proxy: 99 is not a hop count/);
  });

  it('documents every option in --help', async () => {
    const io = capture();
    await main(['serve', '--help']);
    for (const option of [...SPEC.values, 'trust-proxy']) expect(io.out()).toContain(`--${option}`);
    for (const env of ['RAPPORT_PORT', 'RAPPORT_DB', 'RAPPORT_HOST', 'RAPPORT_ADMIN_TOKEN']) expect(io.out()).toContain(env);
  });
});

describe('rapport migrate', () => {
  it('brings a new or an old database to the newest schema and says which version it is at', async () => {
    const db = path.join(dir, 'migrate.db');
    const io = capture();
    await main(['migrate', '--db', db]);
    expect(io.out()).toMatch(new RegExp(`migrate.db \\(sqlite\\) is at schema version ${MIGRATIONS.at(-1)!.version}$`));
    await main(['migrate'], { RAPPORT_DB: db });
    expect(io.out().split('\n')).toHaveLength(2);
    expect(process.exitCode).toBeUndefined();
  });

  it('refuses what it does not know, and documents --db', async () => {
    const io = capture();
    await main(['migrate', 'now']);
    expect(io.err()).toMatch(/unexpected argument "now"/);
    await main(['migrate', '--help']);
    expect(io.out()).toContain('--db <file|url>');
  });
});

describe('rapport sites', () => {
  it('creates a site and prints its write key and secret, then lists it', async () => {
    const db = path.join(dir, 'sites.db');
    const io = capture();
    await main(['sites', 'create', '--name', 'My shop', '--origin', 'https://shop.example.com', '--db', db]);
    expect(io.out()).toMatch(/Created site "My shop" \(site_[0-9a-z]+\)/);
    expect(io.out()).toMatch(/write key: wk_[0-9a-z]{32}/);
    expect(io.out()).toMatch(/secret: +sk_[0-9a-z]{32}/);
    await main(['sites', 'list', '--db', db, '--json']);
    const listed = JSON.parse(io.out().slice(io.out().indexOf('[')));
    expect(listed).toMatchObject([{ name: 'My shop', origins: ['https://shop.example.com'] }]);
  });

  it('refuses a missing name or a bad origin', async () => {
    const io = capture();
    await main(['sites', 'create', '--db', path.join(dir, 'bad.db')]);
    expect(io.err()).toMatch(/needs --name/);
    await main(['sites', 'create', '--name', 'x', '--origin', 'not a url', '--db', path.join(dir, 'bad.db')]);
    expect(io.err()).toMatch(/--origin: "not a url" is not a URL/);
  });

  it('refuses bad input before it creates a database', async () => {
    const io = capture();
    const db = path.join(dir, 'never.db');
    await main(['sites', 'create', '--origin', 'not a url', '--db', db]);
    await main(['sites', 'create', '--name', 'x', '--origin', 'not a url', '--db', db]);
    await main(['sites', 'rename', '--db', db]);
    expect(io.err()).toMatch(/needs --name/);
    expect(io.err()).toMatch(/--origin: "not a url" is not a URL/);
    expect(io.err()).toMatch(/unknown sites action "rename"/);
    expect(existsSync(db)).toBe(false);
  });

  it('documents its options in --help', async () => {
    const io = capture();
    await main(['sites', '--help']);
    for (const option of ['--name', '--origin', '--no-user-hash', '--db', '--json']) expect(io.out()).toContain(option);
  });
});

describe('rapport self-service-link', () => {
  it("prints a link to a customer's page, signed with the site secret, for --days days", async () => {
    const db = path.join(dir, 'self-service.db');
    const io = capture();
    await main(['sites', 'create', '--name', 'Link shop', '--db', db, '--json']);
    const site = JSON.parse(io.out()) as Site & { secret: string };
    const before = Date.now();
    await main(['self-service-link', '--site', site.id, '--user', 'u-42', '--days', '2', '--db', db, '--public-url', 'https://rapport.example.com/']);
    const url = io.out().split('\n').at(-1)!;
    expect(url).toMatch(/^https:\/\/rapport\.example\.com\/me\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    const check = verifySelfServiceToken(url.split('/me/')[1], { get: (id) => (id === site.id ? site : undefined) }, Date.now());
    expect(check).toMatchObject({ ok: true, userId: 'u-42' });
    const expires = (check as { expiresAt: Date }).expiresAt.getTime();
    expect(expires).toBeGreaterThan(before + 2 * 86_400_000 - 2000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 2 * 86_400_000);
    expect(io.err()).toMatch(/valid until .*; nothing is kept yet about user u-42 on Link shop/);
    // Without --public-url: RAPPORT_PUBLIC_URL, else the address the server listens on by default.
    await main(['self-service-link', '--site', site.id, '--user', 'u-42', '--db', db], { RAPPORT_PUBLIC_URL: 'https://env.example.com' });
    expect(io.out().split('\n').at(-1)).toMatch(/^https:\/\/env\.example\.com\/me\//);
    await main(['self-service-link', '--site', site.id, '--user', 'u-42', '--db', db], {});
    expect(io.out().split('\n').at(-1)).toMatch(/^http:\/\/127\.0\.0\.1:8787\/me\//);
    expect(process.exitCode).toBeUndefined();
  });

  it.each([
    [['--user', 'u'], /needs --site/],
    [['--site', 'site_x'], /needs --user/],
    [['--site', 'site_x', '--user', 'u', '--days', '0'], /--days must be a whole number from 1 to 365/],
    [['--site', 'site_x', '--user', 'u', '--days', '366'], /--days must be a whole number from 1 to 365/],
    [['--site', 'site_x', '--user', 'u', '--public-url', 'ftp://x.example'], /--public-url must be an http\(s\) URL/],
  ])('refuses %j before it opens a database', async (args, message) => {
    const io = capture();
    const db = path.join(dir, 'never-link.db');
    await main(['self-service-link', ...args, '--db', db]);
    expect(io.err()).toMatch(message);
    expect(process.exitCode).toBe(2);
    expect(existsSync(db)).toBe(false);
  });

  it('names a site it does not know, and a user id it cannot sign', async () => {
    const db = path.join(dir, 'self-service.db');
    const io = capture();
    await main(['self-service-link', '--site', 'site_nope', '--user', 'u', '--db', db]);
    expect(io.err()).toMatch(/no site site_nope/);
    await main(['sites', 'create', '--name', 'Other', '--db', db, '--json']);
    const site = JSON.parse(io.out().slice(io.out().indexOf('{')));
    await main(['self-service-link', '--site', site.id, '--user', 'a\u0001b', '--db', db]);
    expect(io.err()).toMatch(/--user: userId must be 1 to 256 characters/);
    expect(process.exitCode).toBe(2);
  });

  it('documents its options in --help and in the command list', async () => {
    const io = capture();
    await main(['self-service-link', '--help']);
    for (const option of SELF_SERVICE_LINK_SPEC.values) expect(io.out()).toContain(`--${option}`);
    await main(['help']);
    expect(io.out()).toContain('self-service-link');
  });
});

describe('rapport start', () => {
  it('creates the demo site and the admin token on first start and prints them with the URLs', async () => {
    const db = path.join(dir, 'start.db');
    const server = await spawnServer(['--db', db], 'start');
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const out = server.output();
      expect(out).toMatch(/admin token: \S+ +\(new: keep it\)/);
      const token = /admin token: (\S+)/.exec(out)![1];
      const writeKey = /write key: +(wk_\w+)/.exec(out)![1];
      expect(out).toContain(`<script async src="${server.url}/sdk.js" data-write-key="${writeKey}"></script>`);
      const res = await fetch(`${server.url}/api/sites`, { headers: { authorization: `Bearer ${token}` } });
      const { sites } = await res.json();
      expect(sites).toMatchObject([{ name: 'Demo shop', writeKey, origins: expect.arrayContaining([server.url]) }]);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });
});
