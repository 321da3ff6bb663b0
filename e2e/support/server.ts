// A real medk-server per test: its own port and data dir, killable mid-test
// (the only true network cut: setOffline keeps WebSockets open).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test as base } from '@playwright/test';

export interface ServerOptions {
  /** Reuse a data dir (default: a fresh temporary one). */
  dataDir?: string;
  /** Default: $MEDK_STATIC_DIR (the built dist/). */
  staticDir?: string;
  /** Default: a free port. */
  port?: number;
}

export interface MedkServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  dataDir: string;
  /** Stops the server; resolves once the process has exited. SIGKILL gives it no chance to flush. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and data dir (stopping it first if it runs). */
  restart(): Promise<void>;
  /** Everything the server printed so far, for failure messages. */
  output(): string;
}

const STARTUP_TIMEOUT_MS = 15_000;

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run the browser tests with \`cargo xtask test\``);
  }
  return value;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startServer(opts: ServerOptions = {}): Promise<MedkServer> {
  const bin = requiredEnv('MEDK_SERVER_BIN');
  const staticDir = opts.staticDir ?? requiredEnv('MEDK_STATIC_DIR');
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'medk-e2e-'));
  const port = opts.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  let log = '';
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    const proc = spawn(
      bin,
      ['--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, '--static-dir', staticDir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = proc;
    proc.stdout?.on('data', (chunk) => (log += chunk));
    proc.stderr?.on('data', (chunk) => (log += chunk));
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`medk-server exited during startup (${proc.exitCode ?? proc.signalCode}):\n${log}`);
      }
      try {
        const res = await fetch(`${url}/api/health`);
        if (res.ok) return;
      } catch {
        // Not listening yet.
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    proc.kill('SIGKILL');
    throw new Error(`medk-server did not answer ${url}/api/health within ${STARTUP_TIMEOUT_MS} ms:\n${log}`);
  }

  async function kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const proc = child;
    if (!proc) return;
    const done = exited(proc);
    proc.kill(signal);
    await done;
    child = undefined;
  }

  await start();
  return {
    url,
    port,
    dataDir,
    kill,
    async restart() {
      await kill();
      await start();
    },
    output: () => log,
  };
}

/**
 * `test` with a fresh server per test; `baseURL` points at it, so
 * `page.goto('/')` opens the app.
 */
export const test = base.extend<{ server: MedkServer }>({
  server: async ({}, use) => {
    const server = await startServer();
    try {
      await use(server);
    } finally {
      await server.kill('SIGKILL');
      rmSync(server.dataDir, { recursive: true, force: true });
    }
  },
  baseURL: async ({ server }, use) => {
    await use(server.url);
  },
});

export { expect } from '@playwright/test';
