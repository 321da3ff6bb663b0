// Signing in to medk-server from Node, for the interop scripts.
//
// medk-server's `/sync` takes a WebSocket only with the session cookie
// `medk_session` (401 without), which `POST /api/login` sets. The JS sync
// server (js-sync-server.mjs) has no accounts and ignores cookies.
//
// automerge-repo's WebSocket client adapter opens its socket with
// `new WebSocket(url)` from `isomorphic-ws`, which in Node is
// `module.exports = require('ws')`; that takes no headers.
// `sendCookieOnWebSockets` puts a `ws` subclass that adds the Cookie header
// into the CommonJS module cache in place of `ws`, so isomorphic-ws's
// `require('ws')` returns it. It must run before the adapter is imported
// (import the adapter dynamically after it), and it replaces `ws` for every
// later CommonJS `require('ws')` in the process.
import { createRequire } from 'node:module';

/** Where `POST /api/login` is for a sync URL: same host, http(s) for ws(s). */
export function loginUrl(syncUrl) {
  const url = new URL(syncUrl);
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
  url.pathname = '/api/login';
  url.search = '';
  return url.href;
}

/**
 * Signs in; resolves to the Cookie header value (`medk_session=...`).
 * Rejects with the server's message on a wrong password (401), throttling
 * (429), no server, or no answer within `timeoutMs`.
 */
export async function signIn(syncUrl, login, password, { timeoutMs = 10_000 } = {}) {
  const url = loginUrl(syncUrl);
  const res = await fetch(url, {
    method: 'POST',
    signal: AbortSignal.timeout(timeoutMs),
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ login, password }),
  });
  if (!res.ok) {
    const body = await res.text();
    throw new Error(`signing in as ${login} at ${url}: ${res.status} ${body}`);
  }
  const cookie = res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0].trim())
    .find((c) => c.startsWith('medk_session='));
  if (!cookie) throw new Error(`${url} answered ${res.status} without a medk_session cookie`);
  return cookie;
}

/**
 * The session to use, from options or the environment: `cookie`
 * ($MEDK_COOKIE, `medk_session=...` or just the token), else `login` and
 * `password` ($MEDK_LOGIN, $MEDK_PASSWORD), signed in now. Resolves to the
 * Cookie header value, or undefined when none is given (no session: fine
 * for the JS sync server, a 401 from medk-server).
 */
export async function sessionCookie(syncUrl, { cookie, login, password, timeoutMs } = {}) {
  cookie ??= process.env.MEDK_COOKIE || undefined;
  if (cookie) return cookie.includes('=') ? cookie : `medk_session=${cookie}`;
  login ??= process.env.MEDK_LOGIN || undefined;
  password ??= process.env.MEDK_PASSWORD || undefined;
  if (login === undefined && password === undefined) return undefined;
  if (login === undefined || password === undefined) throw new Error('a login needs a password and the other way round');
  return signIn(syncUrl, login, password, { timeoutMs });
}

let installed;

/**
 * Makes every WebSocket that automerge-repo's client adapter opens from now
 * on send `Cookie: <cookie>`. Returns the class it installed (check
 * `adapter.socket instanceof` it). Call before importing
 * `@automerge/automerge-repo-network-websocket`.
 */
export function sendCookieOnWebSockets(cookie) {
  // Resolved as the adapter resolves them, so the same files. (Replacing
  // isomorphic-ws itself in the cache does not work: Node's ES loader
  // compiles a CommonJS module it imports without looking there.)
  const adapterRequire = createRequire(import.meta.resolve('@automerge/automerge-repo-network-websocket'));
  const isoRequire = createRequire(adapterRequire.resolve('isomorphic-ws'));
  const path = isoRequire.resolve('ws');
  const WebSocket = isoRequire('ws');
  class CookieWebSocket extends WebSocket {
    constructor(address, protocols, options) {
      // `new WebSocket(url, options)` is the two-argument form of `ws`.
      if (protocols && typeof protocols === 'object' && !Array.isArray(protocols)) {
        options = protocols;
        protocols = undefined;
      }
      super(address, protocols, { ...options, headers: { ...options?.headers, cookie } });
    }
  }
  isoRequire.cache[path].exports = CookieWebSocket;
  installed = CookieWebSocket;
  return CookieWebSocket;
}

/** The class `sendCookieOnWebSockets` installed, if it ran. */
export const cookieWebSocket = () => installed;
