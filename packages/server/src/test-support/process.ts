import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const runCli = fileURLToPath(new URL('./run-cli.ts', import.meta.url));
// tsx reads the tsconfig of the working folder (the repository's root, which has no compiler
// options): without the server's own, its JSX (the console's pages) compiles for React and
// every console page answers 500.
const serverTsconfig = fileURLToPath(new URL('../../tsconfig.json', import.meta.url));

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  output: () => string;
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
}

/**
 * Starts `rapport serve` as a separate process from the sources (no build needed) and resolves
 * once it listens. For tests that kill a server the hard way.
 */
export function spawnServer(args: string[], command: 'serve' | 'start' = 'serve'): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', runCli, command, '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TSX_TSCONFIG_PATH: process.env.TSX_TSCONFIG_PATH ?? serverTsconfig },
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /running at (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ url: match[1], child, output: () => output, exited });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
}
