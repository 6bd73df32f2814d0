// The benchmark's HTTP and WebSocket server, in its own process so the client under test has its own core.
// GET /large answers 64 KiB, /mib 1 MiB, anything else about 100 B; prints its port to the parent over IPC.
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';

const small = Buffer.from(JSON.stringify({ symbol: 'BTCUSDT', price: '64000.12', qty: '0.015', time: 1732300000000, id: 1 }).padEnd(100, ' '));
const large = Buffer.alloc(64 * 1024, 'x');
const mib = Buffer.alloc(1024 * 1024, 'x');

const server = http.createServer((req, res) => {
  const body = req.url === '/large' ? large : req.url === '/mib' ? mib : small;
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 120_000;

// WebSocket: a client sends `blast:N` and gets N market-data-sized text messages back. The frames are
// built once and written to the socket in 64 KiB batches, past ws's sender (idle meanwhile): a frame-by-frame
// send() costs the server more than the client's receive, and the server would be what the case measures.
const trade = Buffer.from(
  JSON.stringify({ e: 'trade', s: 'BTCUSDT', p: '64000.12', q: '0.015', T: 1732300000000, t: 1 }).padEnd(100, ' '),
);
// An unmasked final text frame with a 7-bit length (payloads under 126 bytes): 0x81, length, payload.
const frame = Buffer.concat([Buffer.from([0x81, trade.length]), trade]);
const FRAMES_PER_BATCH = Math.floor((64 * 1024) / frame.length);
const batch = Buffer.concat(Array.from({ length: FRAMES_PER_BATCH }, () => frame));

async function blast(socket: Duplex, count: number): Promise<void> {
  for (let sent = 0; sent < count && !socket.destroyed; sent += FRAMES_PER_BATCH) {
    const frames = Math.min(FRAMES_PER_BATCH, count - sent);
    if (!socket.write(frames === FRAMES_PER_BATCH ? batch : batch.subarray(0, frames * frame.length))) await once(socket, 'drain');
  }
}

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
server.on('upgrade', (req, socket: Duplex, head: Buffer) => {
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('error', () => {});
    ws.on('message', (data) => {
      const [command, count] = data.toString().split(':');
      if (command === 'blast') void blast(socket, Number(count));
    });
  });
});
// A deep accept backlog: the memory case dials 1,000 connections at once.
server.listen(0, '127.0.0.1', 4_096, () => process.send?.({ port: (server.address() as AddressInfo).port }));
process.on('disconnect', () => process.exit(0));
