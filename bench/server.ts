// The benchmark's HTTP and WebSocket server, in its own process so the client under test has its own core.
// GET /large answers 64 KiB, /mib 1 MiB, anything else about 100 B; prints its port to the parent over IPC.
// WebSocket on any path; on /deflate with permessage-deflate.
import http from 'node:http';
import zlib from 'node:zlib';
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

// The same message compressed (permessage-deflate, RFC 7692): the payload deflated with a sync flush and
// its trailing 00 00 ff ff dropped, in a frame with RSV1 set (0xc1). The server negotiates
// server_no_context_takeover, so each message is compressed on its own and one frame serves for all;
// the client inflates every message, which is what the compressed delivery case measures.
const deflated = zlib.deflateRawSync(trade, { flush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, -4);
const deflatedFrame = Buffer.concat([Buffer.from([0xc1, deflated.length]), deflated]);

/** As many copies of `one` frame as fit in 64 KiB, written at once. */
function batchOf(one: Buffer): { frame: Buffer; perBatch: number; batch: Buffer } {
  const perBatch = Math.floor((64 * 1024) / one.length);
  return { frame: one, perBatch, batch: Buffer.concat(Array.from({ length: perBatch }, () => one)) };
}
const plain = batchOf(frame);
const compressed = batchOf(deflatedFrame);

async function blast(socket: Duplex, count: number, { frame, perBatch, batch }: ReturnType<typeof batchOf>): Promise<void> {
  for (let sent = 0; sent < count && !socket.destroyed; sent += perBatch) {
    const frames = Math.min(perBatch, count - sent);
    if (!socket.write(frames === perBatch ? batch : batch.subarray(0, frames * frame.length))) await once(socket, 'drain');
  }
}

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
// Path /deflate: permessage-deflate, each message compressed on its own (see deflatedFrame).
const deflating = new WebSocketServer({ noServer: true, perMessageDeflate: { serverNoContextTakeover: true, threshold: 0 } });
server.on('upgrade', (req, socket: Duplex, head: Buffer) => {
  const compressing = req.url === '/deflate';
  (compressing ? deflating : wss).handleUpgrade(req, socket, head, (ws) => {
    // Compressed frames only to a client that negotiated the extension; plain ones otherwise.
    const frames = compressing && ws.extensions.includes('permessage-deflate') ? compressed : plain;
    ws.on('error', () => {});
    ws.on('message', (data) => {
      const [command, count] = data.toString().split(':');
      if (command === 'blast') void blast(socket, Number(count), frames);
    });
  });
});
// A deep accept backlog: the memory case dials 1,000 connections at once.
server.listen(0, '127.0.0.1', 4_096, () => process.send?.({ port: (server.address() as AddressInfo).port }));
process.on('disconnect', () => process.exit(0));
