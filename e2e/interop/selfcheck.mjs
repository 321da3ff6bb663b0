// Checks js-client.mjs end to end against a sync server, each step in its
// own process, and prints how long each took:
//
//   node interop/selfcheck.mjs                 # against js-sync-server.mjs
//   node interop/selfcheck.mjs --server medk   # against $MEDK_SERVER_BIN
//                                              # (with $MEDK_STATIC_DIR), ws path /sync
//
// medk-server syncs only for signed-in people: before its first start the
// selfcheck creates a federal coordinator with `medk-server admin
// create-user`; `create` signs in by itself (--login/--password), the other
// steps get the cookie of one sign-in ($MEDK_COOKIE; the server throttles
// sign-ins per login), and a client with no session must be refused (exit 3).
// Steps: create a doc; restart the server on the same port and data dir
// (SIGTERM, so the JS server flushes); find it from a fresh process; `wait`
// in one process while `edit` runs in another; an ephemeral message from
// `broadcast` reaches `listen`; an unknown doc is unavailable (exit 2); no
// server means exit 3. Ends with `N passed, N failed`; exit 1 on a failure.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateAutomergeUrl } from '@automerge/automerge-repo';
import { signIn } from './session.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values: opts } = parseArgs({ options: { server: { type: 'string', default: 'js' }, keep: { type: 'boolean', default: false } } });
const STEP_TIMEOUT_MS = 20_000;

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const port = await freePort();
const dataDir = mkdtempSync(join(tmpdir(), 'medk-interop-'));
const wsUrl = `ws://127.0.0.1:${port}/sync`;
const medk = opts.server === 'medk';
const LOGIN = 'selfcheck';
const PASSWORD = 'selfcheck-password';
/** The session cookie every client gets ($MEDK_COOKIE), once signed in (medk only). */
let cookie;
let accountCreated = false;

let server;
let serverOutput = '';
async function startServer() {
  const t = performance.now();
  if (opts.server === 'js') {
    server = spawn(process.execPath, [join(here, 'js-sync-server.mjs'), '--port', String(port), '--data', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  } else if (opts.server === 'medk') {
    const bin = process.env.MEDK_SERVER_BIN;
    const staticDir = process.env.MEDK_STATIC_DIR;
    if (!bin || !staticDir) throw new Error('--server medk needs MEDK_SERVER_BIN and MEDK_STATIC_DIR');
    if (!accountCreated) createAccount(bin);
    server = spawn(bin, ['--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, '--static-dir', staticDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  } else {
    throw new Error(`--server js|medk, not ${opts.server}`);
  }
  const child = server;
  child.stdout.on('data', (d) => (serverOutput += d));
  child.stderr.on('data', (d) => (serverOutput += d));
  const exited = new Promise((_, reject) => child.once('exit', (code, sig) => reject(new Error(`server exited (${code ?? sig}) while starting:\n${serverOutput}`))));
  const ready =
    opts.server === 'js'
      ? new Promise((resolve) => child.stdout.on('data', () => serverOutput.includes(`listening ${port}`) && resolve()))
      : (async () => {
          for (;;) {
            try {
              if ((await fetch(`http://127.0.0.1:${port}/api/health`)).ok) return;
            } catch {}
            await new Promise((r) => setTimeout(r, 50));
          }
        })();
  await Promise.race([ready, exited, new Promise((_, reject) => setTimeout(() => reject(new Error(`server not ready after 15 s:\n${serverOutput}`)), 15_000))]);
  return performance.now() - t;
}
/** A federal coordinator (writes every document), made before the first start. */
function createAccount(bin) {
  const args = ['admin', 'create-user', '--data-dir', dataDir, '--login', LOGIN, '--password-stdin', '--role', 'federal-coordinator'];
  const run = spawnSync(bin, args, { input: PASSWORD, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`medk-server ${args.join(' ')} failed (${run.status ?? run.signal}):\n${run.stdout}${run.stderr}`);
  accountCreated = true;
}
async function stopServer(signal = 'SIGTERM') {
  const child = server;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', (code, sig) => r(code ?? sig)));
  child.kill(signal);
  return gone;
}

/**
 * Runs `js-client.mjs args...` (with the session cookie unless `session` is
 * false); resolves { code, out (parsed JSON lines), stderr, ms }.
 */
function client(args, { onLine, session = true } = {}) {
  const t = performance.now();
  const { MEDK_COOKIE, MEDK_LOGIN, MEDK_PASSWORD, ...env } = process.env;
  if (session && cookie) env.MEDK_COOKIE = cookie;
  const child = spawn(process.execPath, [join(here, 'js-client.mjs'), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  let buffered = '';
  child.stdout.on('data', (d) => {
    stdout += d;
    buffered += d;
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      try {
        onLine?.(JSON.parse(line));
      } catch {}
    }
  });
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), STEP_TIMEOUT_MS);
  return new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const out = stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          try {
            return JSON.parse(l);
          } catch {
            return { unparsed: l };
          }
        });
      resolve({ code: code ?? `killed (${signal}): the process did not exit by itself`, out, last: out.at(-1), stderr: stderr.trim(), ms: performance.now() - t });
    }),
  );
}

let passed = 0;
let failed = 0;
async function step(name, fn) {
  const t = performance.now();
  try {
    const detail = await fn();
    passed++;
    console.log(`ok   ${name} (${(performance.now() - t).toFixed(0)} ms)${detail ? ` ${detail}` : ''}`);
    return true;
  } catch (e) {
    failed++;
    console.log(`FAIL ${name} (${(performance.now() - t).toFixed(0)} ms)\n     ${String(e.message ?? e).replaceAll('\n', '\n     ')}`);
    return false;
  }
}
function expectCode(r, code, what) {
  if (r.code !== code) throw new Error(`${what}: exit ${r.code}, expected ${code}\nstdout: ${JSON.stringify(r.out)}\nstderr: ${r.stderr}`);
}

const text = `hello from selfcheck ${process.pid}`;
const edited = `edited ${Date.now()}`;
let docUrl;
console.log(`server: ${opts.server}, ${wsUrl}, data ${dataDir}`);
try {
  await step('server starts', async () => `startup ${(await startServer()).toFixed(0)} ms`);

  if (medk) {
    await step('no session: the server refuses the client (exit 3)', async () => {
      const r = await client(['create', '--url', wsUrl, '--text', text, '--timeout-ms', '5000'], { session: false });
      expectCode(r, 3, 'create without a session');
      if (!r.stderr.includes('401')) throw new Error(`expected a 401, got: ${r.stderr}`);
      return `(${r.stderr.split('\n')[0]})`;
    });
    await step('sign in once for the other clients', async () => {
      cookie = await signIn(wsUrl, LOGIN, PASSWORD);
    });
  }

  await step('create: a new doc reaches the server', async () => {
    // On medk the client signs in by itself.
    const credentials = medk ? ['--login', LOGIN, '--password', PASSWORD] : [];
    const r = await client(['create', '--url', wsUrl, '--text', text, ...credentials], { session: false });
    expectCode(r, 0, 'create');
    docUrl = r.last?.url;
    if (!/^automerge:/.test(docUrl ?? '')) throw new Error(`no automerge: url in ${JSON.stringify(r.out)}`);
    return `${docUrl} (client says ${r.last.ms} ms)`;
  });

  await step('server restarts on the same port and data dir', async () => {
    const exit = await stopServer('SIGTERM');
    return `exit ${exit}, startup ${(await startServer()).toFixed(0)} ms`;
  });

  await step('find: a second process reads the doc after the restart', async () => {
    const r = await client(['find', '--url', wsUrl, '--doc', docUrl, '--expect-key', 'header.title', '--expect-value', text]);
    expectCode(r, 0, 'find');
    return `doc ${JSON.stringify(r.last.doc)} (client says ${r.last.ms} ms)`;
  });

  await step('edit in one process, wait sees it in another', async () => {
    const waiting = client(['wait', '--url', wsUrl, '--doc', docUrl, '--key', 'activities.a1.description', '--value', edited, '--timeout-ms', '15000']);
    // Give `wait` time to connect and find the doc, so the edit arrives as a live change.
    await new Promise((r) => setTimeout(r, 1500));
    const e = await client(['edit', '--url', wsUrl, '--doc', docUrl, '--key', 'activities.a1.description', '--value', edited]);
    expectCode(e, 0, 'edit');
    const w = await waiting;
    expectCode(w, 0, 'wait');
    if (w.last?.doc?.activities?.a1?.description !== edited) throw new Error(`wait printed ${JSON.stringify(w.out)}`);
    if (JSON.stringify(w.last.heads) !== JSON.stringify(e.last.heads)) throw new Error(`heads differ: edit ${JSON.stringify(e.last.heads)}, wait ${JSON.stringify(w.last.heads)}`);
    return `edit ${e.last.ms} ms, wait ${w.last.ms} ms`;
  });

  await step('find after the edit sees it', async () => {
    const r = await client(['find', '--url', wsUrl, '--doc', docUrl, '--expect-key', 'activities.a1.description', '--expect-value', edited]);
    expectCode(r, 0, 'find');
    return `(client says ${r.last.ms} ms)`;
  });

  await step('broadcast: an ephemeral message reaches listen', async () => {
    let listening;
    const isListening = new Promise((r) => (listening = r));
    const l = client(['listen', '--url', wsUrl, '--doc', docUrl, '--timeout-ms', '15000'], { onLine: (o) => o.listening && listening() });
    await Promise.race([isListening, l]);
    const payload = { cursor: 7, who: 'selfcheck' };
    // The listener's repo forwards what it gets to its other peers (the
    // server), senderId unchanged: the server must not hand that echo back.
    const b = await client(['broadcast', '--url', wsUrl, '--doc', docUrl, '--message', JSON.stringify(payload), '--linger-ms', '1000']);
    expectCode(b, 0, 'broadcast');
    const r = await l;
    expectCode(r, 0, 'listen');
    if (JSON.stringify(r.last?.ephemeral?.message) !== JSON.stringify(payload)) throw new Error(`listen printed ${JSON.stringify(r.out)}`);
    if (b.last?.received?.length !== 0) throw new Error(`the broadcaster got ephemeral messages back: ${JSON.stringify(b.last?.received)}`);
    return `listen total ${r.last.ms} ms, nothing came back to the broadcaster`;
  });

  await step('find: an unknown doc is unavailable (exit 2)', async () => {
    const r = await client(['find', '--url', wsUrl, '--doc', generateAutomergeUrl()]);
    expectCode(r, 2, 'find unknown');
    return `(${r.ms.toFixed(0)} ms)`;
  });

  await step('find: no server is exit 3', async () => {
    const r = await client(['find', '--url', `ws://127.0.0.1:${await freePort()}/sync`, '--doc', docUrl, '--timeout-ms', '1500']);
    expectCode(r, 3, 'find without server');
    return `(${r.ms.toFixed(0)} ms)`;
  });
} finally {
  const exit = await stopServer('SIGTERM');
  if (opts.server === 'js' && exit !== 0 && exit !== undefined) {
    failed++;
    console.log(`FAIL server exited ${exit} on SIGTERM:\n${serverOutput}`);
  }
  if (!opts.keep) rmSync(dataDir, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
