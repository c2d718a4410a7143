import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The demo that `npm start` runs, as its banner describes it. */
export interface Demo {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  shop: string;
  rapport: string;
  adminToken: string;
  writeKey: string;
  siteId: string;
  /** `smtp://127.0.0.1:<port>`: the demo's mail catcher. */
  mailCatcher: string;
}

/**
 * Starts the launcher examples/shop/start.mjs exactly as `npm start` does, but from the sources,
 * on free ports, over `db`, with `extraArgs` after the others (`['--cart-wait', '4s']`); resolves
 * once its banner is printed.
 */
export function launchDemo(db: string, extraArgs: string[] = []): Promise<Demo> {
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', 'examples/shop/start.mjs', '--port', '0', '--shop-port', '0', '--db', db, ...extraArgs],
    // The shop renders the home hero itself and keeps the default past its decide timeout, as
    // the SDK does past slotTimeout: a busy test machine gets more time, the pages stay the same.
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SHOP_DECIDE_TIMEOUT_MS: '5000' } },
  );
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the demo did not start:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (!output.includes('Press Ctrl+C to stop.')) return;
      clearTimeout(timer);
      const grab = (re: RegExp) => re.exec(output)?.[1] ?? '';
      resolve({
        child,
        output: () => output,
        exited,
        shop: grab(/Shop:\s+(\S+)/).replace(/\/$/, ''),
        rapport: grab(/Rapport:\s+(\S+)/),
        adminToken: grab(/Admin token:\s+(\S+)/),
        writeKey: grab(/Write key:\s+(\S+)/),
        siteId: grab(/Write key:.*\(site "[^"]*", (\S+)\)/),
        mailCatcher: grab(/Mail catcher:\s+(\S+)/),
      });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the demo exited with ${code}:\n${output}`));
    });
  });
}

/** SIGTERM, as Ctrl+C or a process manager would; resolves with the exit code. */
export async function stopDemo(demo: Demo): Promise<number | null> {
  if (demo.child.exitCode !== null) return demo.child.exitCode;
  demo.child.kill('SIGTERM');
  const timeout = setTimeout(() => demo.child.kill('SIGKILL'), 10_000);
  const code = await demo.exited;
  clearTimeout(timeout);
  return code;
}
