// The automerge-repo JS sync server, as a benchmark baseline and a known-good
// peer for the interop scripts. Mirrors automerge/automerge-repo-sync-server:
// an http server whose "upgrade" hands every WebSocket (any path, so
// ws://127.0.0.1:P/sync works) to a `ws` WebSocketServer({ noServer: true }),
// a NodeWSServerAdapter, NodeFSStorageAdapter(DIR), and sharePolicy false
// (it only syncs documents a peer asks for by id).
//
//   node js-sync-server.mjs --port P --data DIR
//
// Prints `listening <port>` once ready (--port 0 picks a free port).
// SIGTERM/SIGINT flush the repo to disk, then exit 0.
import http from 'node:http';
import { mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { WebSocketServer } from 'ws';
import { Repo } from '@automerge/automerge-repo';
import { NodeWSServerAdapter } from '@automerge/automerge-repo-network-websocket';
import { NodeFSStorageAdapter } from '@automerge/automerge-repo-storage-nodefs';

const { values } = parseArgs({
  options: { port: { type: 'string', default: '3030' }, data: { type: 'string', default: '.amrg' }, host: { type: 'string', default: '127.0.0.1' } },
});
mkdirSync(values.data, { recursive: true });

const wss = new WebSocketServer({ noServer: true });
const repo = new Repo({
  network: [new NodeWSServerAdapter(wss)],
  storage: new NodeFSStorageAdapter(values.data),
  peerId: `js-sync-server-${process.pid}`,
  sharePolicy: async () => false,
});

const server = http.createServer((_req, res) => res.end('👍 @automerge/automerge-repo-sync-server is running'));
server.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req)));
server.listen(Number(values.port), values.host, () => console.log(`listening ${server.address().port}`));

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  server.close();
  repo.networkSubsystem.disconnect(); // terminates the sockets
  // repo.shutdown() would flush every cached handle, and throws on one that
  // is not ready (a document a client asked for and nobody had).
  await repo.flush(Object.values(repo.handles).filter((h) => h.isReady()).map((h) => h.documentId));
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
