// A logging WebSocket proxy for looking at the automerge-repo sync protocol
// on the wire. Every client connection gets its own upstream connection;
// frames are forwarded unchanged, and each one is printed as one line:
//
//   <ms since start> c<n> C->S|S->C <bytes>B <binary|TEXT> <CBOR diagnostic notation>
//
// The diagnostic notation is written from the raw bytes (not via a decoder),
// so it shows exactly what a Rust relay has to parse: definite/indefinite
// lengths, tags, `undefined` (0xf7) vs `null` (0xf6), byte vs text strings,
// and RFC 8949 encoding indicators for lengths/integers that are not in
// their shortest form (`{_1 ...}`: a map whose length takes 2 bytes).
// A byte string under a key `data` in a `sync`/`request` message is also
// decoded as an Automerge sync message (heads, need, have, changes) with
// @automerge/automerge, which automerge-repo depends on.
//
//   node wire-log.mjs --port 0 --upstream ws://127.0.0.1:P/sync [--full]
//
// Prints `listening <port>` once ready. --full prints byte strings whole
// (default: the first 16 bytes and the length).
//
// Sessions pass through: other HTTP requests (POST /api/login, say) are
// forwarded to the upstream's host as they are, a client's Cookie header goes
// on its upstream WebSocket, and the client is let in only once the upstream
// took the upgrade; an upstream refusal (medk-server's 401 without a session)
// reaches the client as the same HTTP status. So a client pointed at the
// proxy signs in and syncs as it would directly:
//   node js-client.mjs find --url ws://127.0.0.1:PROXY/sync --login L --password P --doc ...
import http from 'node:http';
import { parseArgs } from 'node:util';
import { WebSocketServer, WebSocket } from 'ws';
import { next as A } from '@automerge/automerge';

const { values } = parseArgs({
  options: { port: { type: 'string', default: '0' }, upstream: { type: 'string' }, full: { type: 'boolean', default: false } },
});
if (!values.upstream) throw new Error('--upstream ws://host:port/path is required');
const t0 = performance.now();
const hex = (b) => Buffer.from(b).toString('hex');

// CBOR (RFC 8949) to diagnostic notation, straight from the bytes.
function diag(buf) {
  let i = 0;
  const syncData = [];
  let ind = ''; // encoding indicator of the last argument, if not minimal
  const arg = (info) => {
    ind = '';
    if (info < 24) return info;
    const n = { 24: 1, 25: 2, 26: 4, 27: 8 }[info];
    if (!n) return info === 31 ? -1 : NaN;
    let v = 0n;
    for (let k = 0; k < n; k++) v = (v << 8n) | BigInt(buf[i++]);
    const fitsSmaller = { 24: v < 24n, 25: v < 0x100n, 26: v < 0x10000n, 27: v < 0x100000000n }[info];
    if (fitsSmaller) ind = `_${info - 24}`;
    return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const item = () => {
    const ib = buf[i++];
    const major = ib >> 5;
    const info = ib & 31;
    if (major === 7) {
      if (info === 20) return 'false';
      if (info === 21) return 'true';
      if (info === 22) return 'null';
      if (info === 23) return 'undefined';
      if (info === 31) return 'BREAK';
      if (info >= 25 && info <= 27) {
        const n = { 25: 2, 26: 4, 27: 8 }[info];
        const dv = new DataView(buf.buffer, buf.byteOffset + i, n);
        i += n;
        const f = n === 2 ? dv.getFloat16?.(0) ?? `f16:${hex(buf.subarray(i - 2, i))}` : n === 4 ? dv.getFloat32(0) : dv.getFloat64(0);
        return `${f}_${{ 2: 1, 4: 2, 8: 3 }[n]}`;
      }
      return `simple(${arg(info)})`;
    }
    const len = arg(info);
    const indef = len === -1 ? '_ ' : ind ? `${ind} ` : '';
    const sfx = ind;
    switch (major) {
      case 0:
        return String(len) + sfx;
      case 1:
        return String(-1 - (typeof len === 'bigint' ? Number(len) : len)) + sfx;
      case 2:
      case 3: {
        const chunks = [];
        if (len === -1) {
          while (buf[i] !== 0xff) chunks.push(item());
          i++;
          return `(_ ${chunks.join(', ')})`;
        }
        const bytes = buf.subarray(i, i + len);
        i += len;
        if (major === 3) return JSON.stringify(Buffer.from(bytes).toString('utf8')) + sfx;
        const shown = values.full || len <= 16 ? hex(bytes) : `${hex(bytes.subarray(0, 16))}…`;
        return Object.assign(new String(`h'${shown}'${sfx}${len > 16 && !values.full ? `(${len}B)` : ''}`), { bytes });
      }
      case 4: {
        const out = [];
        for (let k = 0; len === -1 ? buf[i] !== 0xff : k < len; k++) out.push(item());
        if (len === -1) i++;
        return `[${indef}${out.join(', ')}]`;
      }
      case 5: {
        const out = [];
        let type, data;
        for (let k = 0; len === -1 ? buf[i] !== 0xff : k < len; k++) {
          const key = item();
          const value = item();
          if (key === '"type"') type = value;
          if (key === '"data"' && value.bytes) data = value.bytes;
          out.push(`${key}: ${value}`);
        }
        if (len === -1) i++;
        if (data && (type === '"sync"' || type === '"request"')) syncData.push(data);
        return `{${indef}${out.join(', ')}}`;
      }
      case 6:
        return `${len}(${item()})`;
    }
  };
  const text = item();
  const rest = i < buf.length ? ` +${buf.length - i} trailing bytes!` : '';
  let sync = '';
  for (const data of syncData) {
    try {
      const m = A.decodeSyncMessage(data);
      sync += `\n        sync message: heads=${JSON.stringify(m.heads)} need=${JSON.stringify(m.need)} have=${JSON.stringify(m.have.map((h) => ({ lastSync: h.lastSync, bloomBytes: h.bloom.length })))} changes=${m.changes.length}`;
    } catch (e) {
      sync += `\n        (data is not an Automerge sync message: ${e.message})`;
    }
  }
  return `${text}${rest}${sync}`;
}

let conns = 0;
const log = (id, dir, data, isBinary) => {
  const buf = Buffer.isBuffer(data) ? data : Buffer.concat(data);
  let body;
  try {
    body = diag(new Uint8Array(buf.buffer, buf.byteOffset, buf.length));
  } catch (e) {
    body = `undecodable (${e.message}): ${hex(buf)}`;
  }
  console.log(`${(performance.now() - t0).toFixed(0).padStart(6)} c${id} ${dir} ${buf.length}B ${isBinary ? 'binary' : 'TEXT'} ${body}`);
};

const upstream = new URL(values.upstream);
const wss = new WebSocketServer({ noServer: true });

// Anything but a WebSocket goes to the upstream's host unchanged.
const server = http.createServer((req, res) => {
  const forwarded = http.request(
    { host: upstream.hostname, port: upstream.port || 80, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.headers);
      answer.pipe(res);
    },
  );
  forwarded.on('error', (e) => {
    res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(`wire-log: upstream ${upstream.host}: ${e.message}\n`);
  });
  req.pipe(forwarded);
});

server.on('upgrade', (req, socket, head) => {
  const id = ++conns;
  const at = () => (performance.now() - t0).toFixed(0).padStart(6);
  console.log(`${at()} c${id} open ${req.url}${req.headers.cookie ? ' (with a cookie)' : ''}`);
  const up = new WebSocket(values.upstream, { headers: req.headers.cookie ? { cookie: req.headers.cookie } : {} });
  // Upstream frames that arrive before the client is let in.
  const early = [];
  const earlyMessage = (data, isBinary) => early.push([data, isBinary]);
  up.on('message', earlyMessage);
  up.on('unexpected-response', (_req, res) => {
    console.log(`${at()} c${id} upstream refused the upgrade: ${res.statusCode} ${res.statusMessage}`);
    socket.end(`HTTP/1.1 ${res.statusCode} ${res.statusMessage}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    res.resume();
  });
  up.on('error', (e) => {
    console.log(`${at()} c${id} upstream error ${e.message}`);
    if (!socket.destroyed && up.readyState === WebSocket.CLOSED) socket.end('HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  up.once('open', () =>
    wss.handleUpgrade(req, socket, head, (client) => {
      up.off('message', earlyMessage);
      client.on('message', (data, isBinary) => {
        log(id, 'C->S', data, isBinary);
        if (up.readyState === WebSocket.OPEN) up.send(data, { binary: isBinary });
      });
      const toClient = (data, isBinary) => {
        log(id, 'S->C', data, isBinary);
        if (client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
      };
      early.splice(0).forEach(([d, b]) => toClient(d, b));
      up.on('message', toClient);
      const closeBoth = (who) => (code, reason) => {
        console.log(`${at()} c${id} ${who} closed ${code} ${reason ?? ''}`);
        const safe = (c) => (c === 1005 || c === 1006 ? 1000 : c);
        if (client.readyState <= 1) client.close(safe(code), reason);
        if (up.readyState <= 1) up.close(safe(code), reason);
      };
      client.on('close', closeBoth('client'));
      up.on('close', closeBoth('server'));
      client.on('error', (e) => console.log(`c${id} client error ${e.message}`));
    }),
  );
});
server.listen(Number(values.port), '127.0.0.1', () => console.log(`listening ${server.address().port}`));
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
