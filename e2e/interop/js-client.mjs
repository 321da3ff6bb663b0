// A one-shot automerge-repo client for interop tests: one process per call,
// connects with BrowserWebSocketClientAdapter (Node uses the `ws` package
// through isomorphic-ws), does one thing, prints one JSON line on stdout
// and exits.
//
//   node js-client.mjs create --url ws://127.0.0.1:P/sync --text T [--activity D] [--creator ID]
//        -> {"url":"automerge:...","heads":[...],"storageId":S,"syncHeads":[...],"ms":N}
//           a roadmap in medk's document layout (shared/src/doc.rs) titled T,
//           with one section `s1` and one activity `a1` described D, its id
//           derived from its origin as medk-server requires (a random nonce;
//           ID names its maker, default none). storageId: the one the server
//           announced; syncHeads: what handle.getSyncInfo(storageId) says the
//           server has (the server's heads by automerge-repo's own account).
//   node js-client.mjs find   --url U --doc automerge:... [--expect-key K --expect-value V]
//        -> {"doc":{...},"heads":[...],"ms":N}
//   node js-client.mjs edit   --url U --doc automerge:... --key K --value V
//        -> {"heads":[...],"ms":N}
//   node js-client.mjs wait   --url U --doc automerge:... --key K --value V
//        -> {"doc":{...},"heads":[...],"ms":N}
//   node js-client.mjs create-roadmap ...: the same as create
//   node js-client.mjs vandalize --url U --doc automerge:...
//        -> {"acknowledged":false,...}  what a hostile writer's client did to
//           its own roadmap (`delete d.header; d.sections = "not a map";
//           d.schema = 999`); acknowledged: whether the server said within
//           3 s that it has the change (medk-server refuses it)
//   node js-client.mjs send-big --url U --megabytes N
//        -> {"code":C,"reason":R}   one N MiB binary frame on a signed-in
//           socket (the ws package directly), and the close code the server
//           answered with
//   Keys of find/edit/wait may be dotted paths: activities.a1.description
//   node js-client.mjs listen --url U --doc automerge:...
//        -> {"listening":true} once the doc is found, then, on the first
//           ephemeral message for it: {"ephemeral":{"senderId":...,"message":...},"ms":N}
//   node js-client.mjs broadcast --url U --doc automerge:... --message JSON [--linger-ms N]
//        -> {"sent":true,"received":[...],"ms":N}   (handle.broadcast: fire and
//           forget; then it stays connected N ms, default 0, and lists the
//           ephemeral messages it got meanwhile: its own must not come back)
//
// Common options: --timeout-ms N (default 10000, the whole command),
// --peer-id ID (default: random), --storage DIR (a NodeFS storage; default
// none, so the client announces itself as ephemeral).
//
// A session for medk-server (its /sync needs one; the JS sync server needs
// none): --cookie C ($MEDK_COOKIE; `medk_session=TOKEN` or the token), or
// --login L --password P ($MEDK_LOGIN, $MEDK_PASSWORD) to sign in first with
// POST /api/login on the --url's host. The WebSocket then carries the
// cookie (see session.mjs). Without either it connects with no cookie.
//
// "Reached the server" (create, edit) means: the server's own sync message
// for the document says its heads equal ours, i.e. it has applied every
// change we have (the `theirHeads` of our sync state with the server peer,
// taken from the repo's synchronizer "sync-state" events). This works
// whether or not the server announces a storageId; when it does, the repo
// also records these heads as the handle's sync info for that storageId.
// It says nothing about the server's disk.
//
// Exit codes: 0 ok; 1 usage error, --expect mismatch or a crash;
// 2 document unavailable or timeout; 3 could not connect (refused, the
// upgrade was answered with an HTTP error such as medk-server's 401 without
// a session, signing in failed, or no `peer` message before the timeout).
import { parseArgs } from 'node:util';
import { Repo, encodeHeads, isValidAutomergeUrl, stringifyAutomergeUrl } from '@automerge/automerge-repo';
import { ImmutableString } from '@automerge/automerge';
import { sendCookieOnWebSockets, sessionCookie } from './session.mjs';

const started = performance.now();
const [command, ...rest] = process.argv.slice(2);
let opts;
try {
  ({ values: opts } = parseArgs({
    args: rest,
    options: {
      url: { type: 'string' },
      text: { type: 'string' },
      doc: { type: 'string' },
      key: { type: 'string' },
      value: { type: 'string' },
      'expect-key': { type: 'string' },
      'expect-value': { type: 'string' },
      'timeout-ms': { type: 'string', default: '10000' },
      'peer-id': { type: 'string' },
      storage: { type: 'string' },
      message: { type: 'string' },
      'linger-ms': { type: 'string', default: '0' },
      activity: { type: 'string' },
      creator: { type: 'string', default: '' },
      megabytes: { type: 'string' },
      cookie: { type: 'string' },
      login: { type: 'string' },
      password: { type: 'string' },
    },
  }));
} catch (e) {
  usage(e.message);
}

function usage(msg) {
  process.stderr.write(`js-client: ${msg}\nusage: js-client.mjs create|create-roadmap|find|edit|wait|listen|broadcast --url ws://HOST:PORT/sync [--cookie C | --login L --password P] [options] (see the top of this file)\n`);
  process.exit(1);
}
const need = (...names) => names.forEach((n) => opts[n] === undefined && usage(`${command} needs --${n}`));
if (!['create', 'create-roadmap', 'find', 'edit', 'wait', 'listen', 'broadcast', 'vandalize', 'send-big'].includes(command)) usage(`unknown command ${command ?? '(none)'}`);
need('url');
if (command.startsWith('create')) need('text');
if (command === 'send-big') need('megabytes');
if (!command.startsWith('create') && command !== 'send-big') need('doc');
if (opts.doc !== undefined && !isValidAutomergeUrl(opts.doc)) usage(`--doc ${opts.doc} is not an automerge: URL`);
if (command === 'edit' || command === 'wait') need('key', 'value');
if (command === 'broadcast') need('message');
if ((opts['expect-key'] === undefined) !== (opts['expect-value'] === undefined)) usage('--expect-key and --expect-value go together');
if ((opts.login === undefined) !== (opts.password === undefined)) usage('--login and --password go together');
if (opts.cookie !== undefined && opts.login !== undefined) usage('--cookie or --login/--password, not both');
const timeoutMs = Number(opts['timeout-ms']);

if (command === 'send-big') {
  // Not through the repo: one oversized frame, then the close it gets.
  const cookie = await sessionCookie(opts.url, { ...opts, timeoutMs }).catch((e) => {
    process.stderr.write(`js-client send-big: cannot connect: ${e.message}\n`);
    process.exit(3);
  });
  const { default: RawWebSocket } = await import('ws');
  const ws = new RawWebSocket(opts.url, cookie ? { headers: { cookie } } : {});
  const timer = setTimeout(() => { process.stderr.write('js-client send-big: no close\n'); process.exit(2); }, timeoutMs);
  ws.on('open', () => ws.send(Buffer.alloc(Number(opts.megabytes) * 1024 * 1024)));
  ws.on('error', () => {}); // the close event follows
  ws.on('close', (code, reason) => {
    clearTimeout(timer);
    process.stdout.write(JSON.stringify({ code, reason: reason.toString(), ms: Math.round(performance.now() - started) }) + '\n');
    process.exit(0);
  });
  await new Promise(() => {});
}

let phase = 'connecting';
let cookie;
try {
  cookie = await sessionCookie(opts.url, { ...opts, timeoutMs });
} catch (e) {
  process.stderr.write(`js-client ${command}: cannot connect: ${e.message}\n`);
  process.exit(3);
}
// The adapter must be imported after this, to get sockets that send the cookie.
const CookieWebSocket = cookie ? sendCookieOnWebSockets(cookie) : undefined;
const { BrowserWebSocketClientAdapter } = await import('@automerge/automerge-repo-network-websocket');
const adapter = new BrowserWebSocketClientAdapter(opts.url, 500);
const storage = opts.storage ? new (await import('@automerge/automerge-repo-storage-nodefs')).NodeFSStorageAdapter(opts.storage) : undefined;
const repo = new Repo({ network: [adapter], storage, ...(opts['peer-id'] ? { peerId: opts['peer-id'] } : {}) });

// The adapter emits "peer-candidate" when the server's `peer` message arrives.
// The repo registered its own listener first, so by the time ours runs the
// repo knows the peer and its metadata.
let serverPeerId;
const server = new Promise((resolve) =>
  adapter.once('peer-candidate', (peer) => {
    serverPeerId = peer.peerId;
    resolve(peer);
  }),
);

// Latest heads the server said it has, per document, from our sync state with it.
const serverHeads = new Map();
const waiters = new Set();
repo.synchronizer.on('sync-state', ({ peerId, documentId, syncState }) => {
  if (peerId !== serverPeerId || !syncState.theirHeads) return;
  serverHeads.set(documentId, encodeHeads(syncState.theirHeads));
  waiters.forEach((w) => w());
});

const sameHeads = (a, b) => a.length === b.length && [...a].sort().join() === [...b].sort().join();
function reachedServer(handle) {
  phase = 'waiting for the server to acknowledge the change';
  return new Promise((resolve) => {
    const check = () => {
      const theirs = serverHeads.get(handle.documentId);
      if (theirs && sameHeads(theirs, handle.heads())) {
        waiters.delete(check);
        resolve();
      }
    };
    waiters.add(check);
    check();
  });
}

let finishing = false;
async function finish(code, out) {
  if (finishing) return new Promise(() => {}); // the first call exits
  finishing = true;
  clearTimeout(deadline);
  if (out) process.stdout.write(JSON.stringify({ ...out, ms: Math.round(performance.now() - started) }) + '\n');
  // Let the close handshake go out so the server sees a clean close (1000).
  const socket = adapter.socket;
  const closed = socket && socket.readyState <= 1 ? new Promise((r) => { socket.once('close', r); setTimeout(r, 1000); }) : null;
  repo.networkSubsystem.disconnect();
  // Not repo.shutdown(): its flush throws on a handle that is not ready.
  await repo.flush(Object.values(repo.handles).filter((h) => h.isReady()).map((h) => h.documentId)).catch(() => {});
  await closed;
  process.exit(code);
}
function fail(code, msg) {
  process.stderr.write(`js-client ${command}: ${msg}\n`);
  return finish(code);
}
// The adapter rethrows socket errors other than ECONNREFUSED (an HTTP 404
// instead of an upgrade, say) from an event handler: they land here.
process.on('uncaughtException', (e) =>
  phase === 'connecting' ? fail(3, `cannot connect to ${opts.url}: ${e?.message ?? e}`) : fail(1, `crashed while ${phase}: ${e?.stack ?? e}`),
);
process.on('unhandledRejection', (e) => fail(1, `crashed while ${phase}: ${e?.stack ?? e}`));
const deadline = setTimeout(() => {
  if (phase === 'connecting') fail(3, `no peer message from ${opts.url} within ${timeoutMs} ms`);
  else fail(2, `timeout after ${timeoutMs} ms while ${phase}`);
}, timeoutMs);

async function connect() {
  const { peerId, peerMetadata } = await server;
  if (CookieWebSocket && !(adapter.socket instanceof CookieWebSocket)) {
    await fail(1, 'the adapter opened a socket that does not send the session cookie (see session.mjs)');
  }
  if (process.env.JS_CLIENT_DEBUG) process.stderr.write(`connected to ${peerId} ${JSON.stringify(peerMetadata)}\n`);
}

async function find() {
  await connect();
  phase = `finding ${opts.doc}`;
  try {
    return await repo.find(opts.doc);
  } catch (e) {
    await fail(2, `${opts.doc} is unavailable: ${e.message}`);
  }
}

const get = (doc, key) => key.split('.').reduce((o, k) => o?.[k], doc);
function set(doc, key, value) {
  const path = key.split('.');
  const last = path.pop();
  path.reduce((o, k) => o[k], doc)[last] = value;
}

/** A roadmap as medk's RoadmapDoc::create lays it out: Text for what people
 * type (plain strings are Text in Automerge 3), scalar strings for ids,
 * positions (fractional_index hex; "80" is its first index) and enums; with
 * its origin (`creator`, `nonce`), from which its id follows (originId). */
function roadmap(title, description, creator, nonce) {
  const s = (v) => new ImmutableString(v);
  const text = { title, territory: '', approval: '', abbreviations: '', footnotes: '' };
  const activity = {
    section: s('s1'), pos: s('80'), deleted: false, status: s('planned'), completed_on: s(''),
    number: '1.1', description, form: '', deadline: '', responsible: '', indicator: '',
    report_form: '', evidence: '', comments: '',
  };
  return {
    kind: s('medk/roadmap'),
    schema: 1,
    creator: s(creator),
    nonce: s(nonce),
    header: { ...text, level: s('school'), year: null },
    columns: [
      { field: s('number'), title: '№' },
      { field: s('description'), title: 'Мероприятие' },
      { field: s('deadline'), title: 'Срок' },
      { field: s('responsible'), title: 'Ответственный' },
    ],
    sections: { s1: { title: '1. Раздел', pos: s('80'), deleted: false } },
    activities: { a1: activity },
    members: {},
  };
}

/** The id medk gives a roadmap of this origin (shared/src/layout.rs
 * origin_id): the first 16 bytes of SHA-256 over "medk/roadmap", a zero byte
 * and "creator/nonce". */
async function originUrl(creator, nonce) {
  const { createHash } = await import('node:crypto');
  const digest = createHash('sha256').update('medk/roadmap').update(Buffer.from([0])).update(`${creator}/${nonce}`).digest();
  return stringifyAutomergeUrl(new Uint8Array(digest.subarray(0, 16)));
}

/** What the server has of the document, by automerge-repo's account of it
 * under the storageId the server announced. */
function syncInfo(handle) {
  const storageId = repo.peerMetadataByPeerId[serverPeerId]?.storageId;
  return { storageId, syncHeads: storageId ? handle.getSyncInfo(storageId)?.lastHeads : undefined };
}

switch (command) {
  case 'create':
  case 'create-roadmap': {
    const A = await import('@automerge/automerge');
    const { randomBytes } = await import('node:crypto');
    const nonce = randomBytes(16).toString('hex');
    const url = await originUrl(opts.creator, nonce);
    const made = A.from(roadmap(opts.text, opts.activity ?? '', opts.creator, nonce));
    const handle = repo.import(A.save(made), { docId: url.slice('automerge:'.length) });
    await connect();
    await reachedServer(handle);
    await finish(0, { url: handle.url, heads: handle.heads(), ...syncInfo(handle) });
    break;
  }
  case 'vandalize': {
    const handle = await find();
    handle.change((d) => {
      delete d.header;
      d.sections = 'not a map';
      d.schema = 999;
    });
    const acknowledged = await Promise.race([
      reachedServer(handle).then(() => true),
      new Promise((r) => setTimeout(() => r(false), 3000)),
    ]);
    await finish(0, { acknowledged, heads: handle.heads() });
    break;
  }
  case 'find': {
    const handle = await find();
    const doc = handle.doc();
    if (opts['expect-key'] !== undefined && get(doc, opts['expect-key']) !== opts['expect-value']) {
      process.stdout.write(JSON.stringify({ doc }) + '\n');
      await fail(1, `expected ${opts['expect-key']} = ${JSON.stringify(opts['expect-value'])}, got ${JSON.stringify(get(doc, opts['expect-key']))}`);
    }
    await finish(0, { doc, heads: handle.heads() });
    break;
  }
  case 'edit': {
    const handle = await find();
    handle.change((d) => set(d, opts.key, opts.value));
    await reachedServer(handle);
    await finish(0, { heads: handle.heads(), ...syncInfo(handle) });
    break;
  }
  case 'wait': {
    const handle = await find();
    phase = `waiting for ${opts.key} = ${JSON.stringify(opts.value)}`;
    await new Promise((resolve) => {
      const check = () => get(handle.doc(), opts.key) === opts.value && resolve();
      handle.on('change', check);
      check();
    });
    await finish(0, { doc: handle.doc(), heads: handle.heads() });
    break;
  }
  case 'listen': {
    const handle = await find();
    phase = 'waiting for an ephemeral message';
    const got = new Promise((resolve) => handle.once('ephemeral-message', resolve));
    process.stdout.write(JSON.stringify({ listening: true }) + '\n');
    const { senderId, message } = await got;
    await finish(0, { ephemeral: { senderId, message } });
    break;
  }
  case 'broadcast': {
    let message;
    try {
      message = JSON.parse(opts.message);
    } catch (e) {
      usage(`--message is not JSON: ${e.message}`);
    }
    const handle = await find();
    const received = [];
    handle.on('ephemeral-message', ({ senderId, message }) => received.push({ senderId, message }));
    handle.broadcast(message);
    phase = 'lingering after the broadcast';
    await new Promise((r) => setTimeout(r, Number(opts['linger-ms'])));
    // Closing the socket (in finish) sends queued frames before the close frame.
    await finish(0, { sent: true, received });
    break;
  }
}
