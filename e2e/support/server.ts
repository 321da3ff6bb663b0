// A real medk-server per test: its own port and data dir, killable mid-test
// (the only true network cut: setOffline keeps WebSockets open).
//
// The relay syncs only for signed-in people, so a fresh server gets one
// account before it starts (TESTER, a federal coordinator: the root unit,
// which writes every roadmap), made with `medk-server admin` on the data
// dir. `signIn` puts that person's session cookie into a browser context.
// Specs that only work on the device need none of this: the app works
// signed out.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test as base, type Browser, type BrowserContext, type TestInfo } from '@playwright/test';

/** An account made before the server starts. */
export interface Person {
  login: string;
  password: string;
  /** `federal-coordinator`, `regional-coordinator`, `municipal-coordinator`, `curator`, `school-team`, `observer`. */
  role: string;
  /** Default: the root unit `rf`. */
  unit?: string;
  /** Full name (default: the login). */
  name?: string;
  /** A curator's schools. */
  schools?: string[];
}

/** A unit of the organisation tree made before the server starts. */
export interface OrgUnit {
  id: string;
  parent: string;
  level: 'region' | 'municipality' | 'school';
  name: string;
}

/** The account a fresh server has unless told otherwise: writes every roadmap. */
export const TESTER: Person = {
  login: 'tester',
  password: 'tester-password',
  role: 'federal-coordinator',
  name: 'Тестовый координатор',
};

export interface ServerOptions {
  /** Reuse a data dir (default: a fresh temporary one). */
  dataDir?: string;
  /** Default: $MEDK_STATIC_DIR (the built dist/). */
  staticDir?: string;
  /** Default: a free port. */
  port?: number;
  /**
   * People to create before the first start. Default: `[TESTER]` in a fresh
   * data dir, nobody in a given one (it is the caller's); `[]`: nobody (the
   * server then writes a one-time link for the first coordinator to
   * `first-admin.txt` in the data dir).
   */
  people?: Person[];
  /** Units to create before the people (parents first). */
  units?: OrgUnit[];
  /** More command-line options for the server (limits, say). */
  args?: string[];
}

export interface MedkServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  dataDir: string;
  /** The people created before the first start. */
  people: Person[];
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

/** Runs `medk-server admin <args> --data-dir <dir>` (only while no server holds the dir). */
export function admin(dataDir: string, args: string[], stdin = ''): string {
  const run = spawnSync(requiredEnv('MEDK_SERVER_BIN'), ['admin', ...args, '--data-dir', dataDir], {
    input: stdin,
    encoding: 'utf8',
  });
  if (run.status !== 0) {
    throw new Error(`medk-server admin ${args.join(' ')} failed (${run.status ?? run.signal}):\n${run.stdout}${run.stderr}`);
  }
  return run.stdout.trim();
}

/** Creates units, then people, in a data dir no server holds. */
export function createAccounts(dataDir: string, units: OrgUnit[], people: Person[]) {
  for (const u of units) {
    admin(dataDir, ['create-unit', '--parent', u.parent, '--level', u.level, '--name', u.name, '--id', u.id]);
  }
  for (const p of people) {
    const args = ['create-user', '--login', p.login, '--password-stdin', '--role', p.role];
    if (p.unit) args.push('--unit', p.unit);
    if (p.name) args.push('--name', p.name);
    for (const school of p.schools ?? []) args.push('--school', school);
    admin(dataDir, args, p.password);
  }
}

/**
 * Signs `person` in on a device: `POST /api/login` with the context's own
 * request client puts the session cookie into the context, and the answer
 * (`Me`) is kept where the app keeps it after a sign-in, so pages opened in
 * the context afterwards start signed in and sync. Call it before
 * `page.goto`. Returns the `Me`.
 */
export async function signIn(context: BrowserContext, server: MedkServer | string, person: Person = TESTER): Promise<any> {
  const url = typeof server === 'string' ? server : server.url;
  const res = await context.request.post(`${url}/api/login`, {
    data: { login: person.login, password: person.password },
  });
  if (!res.ok()) throw new Error(`signing in ${person.login} at ${url}: ${res.status()} ${await res.text()}`);
  const me = await res.json();
  await rememberSession(context, url, me);
  return me;
}

/**
 * The app adopts a session only from its own sign-in: it keeps the `Me` in
 * localStorage (`medk.me` = `{me, expired}`, app/src/account.rs) and, when
 * that says signed in, asks `/api/me` with the cookie before it syncs; a
 * cookie alone leaves it signed out. So this writes that entry, from a page
 * of the origin that does not start the app (an open app in the context
 * takes it from the storage event, as from another tab).
 */
async function rememberSession(context: BrowserContext, url: string, me: unknown) {
  const page = await context.newPage();
  try {
    await page.goto(`${url}/api/health`);
    await page.evaluate(([key, value]) => localStorage.setItem(key, value), ['medk.me', JSON.stringify({ me, expired: false })]);
  } finally {
    await page.close();
  }
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
  const people = opts.people ?? (opts.dataDir ? [] : [TESTER]);
  createAccounts(dataDir, opts.units ?? [], people);
  const port = opts.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  let log = '';
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    const proc = spawn(
      bin,
      ['--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, '--static-dir', staticDir, ...(opts.args ?? [])],
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
    people,
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
 * `page.goto('/')` opens the app. The server has TESTER unless
 * `test.use({ serverOptions: { people, units } })` says otherwise; nobody is
 * signed in until a spec calls `signIn`.
 */
/** A failed test keeps its server's log (CI prints attachments' paths). */
export async function attachLogOnFailure(server: MedkServer, testInfo: TestInfo) {
  if (testInfo.status !== testInfo.expectedStatus) {
    await testInfo.attach(`server-${server.url.split(':').pop()}.log`, { body: server.output(), contentType: 'text/plain' });
  }
}

/**
 * Every page's console warnings and errors, kept and attached when a test
 * fails (an auto fixture: it wraps `browser.newContext`, so devices made by
 * any helper are covered).
 */
export const browserLog = [
  async ({ browser }: { browser: Browser }, use: () => Promise<void>, testInfo: TestInfo) => {
    const lines: string[] = [];
    const started = Date.now();
    const newContext = browser.newContext.bind(browser);
    let n = 0;
    browser.newContext = async (...args: Parameters<Browser['newContext']>) => {
      const context = await newContext(...args);
      const device = ++n;
      context.on('console', (m) => {
        if (m.type() === 'warning' || m.type() === 'error') {
          lines.push(`${Date.now() - started} ms device ${device} ${m.type()}: ${m.text()}`);
        }
      });
      context.on('weberror', (e) => lines.push(`${Date.now() - started} ms device ${device} uncaught: ${e.error()}`));
      return context;
    };
    try {
      await use();
    } finally {
      browser.newContext = newContext;
      if (testInfo.status !== testInfo.expectedStatus && lines.length > 0) {
        await testInfo.attach('browser-console.log', { body: lines.join('\n'), contentType: 'text/plain' });
      }
    }
  },
  { auto: true },
] as const;

export const test = base.extend<{ server: MedkServer; serverOptions: ServerOptions; browserLog: void }>({
  serverOptions: [{}, { option: true }],
  browserLog: browserLog as any,
  server: async ({ serverOptions }, use, testInfo) => {
    const server = await startServer(serverOptions);
    try {
      await use(server);
    } finally {
      await attachLogOnFailure(server, testInfo);
      await server.kill('SIGKILL');
      rmSync(server.dataDir, { recursive: true, force: true });
    }
  },
  baseURL: async ({ server }, use) => {
    await use(server.url);
  },
});

export { expect } from '@playwright/test';
