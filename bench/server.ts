// The benchmark's HTTP server, in its own process so the client under test has its own core.
// Answers every request with a fixed body; prints its port to the parent over IPC.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

const small = Buffer.from(JSON.stringify({ symbol: 'BTCUSDT', price: '64000.12', qty: '0.015', time: 1732300000000, id: 1 }).padEnd(100, ' '));
const large = Buffer.alloc(64 * 1024, 'x');

const server = http.createServer((req, res) => {
  const body = req.url === '/large' ? large : small;
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 120_000;

// WebSocket: a client sends `blast:N` and gets N market-data-sized text messages back, as fast as ws sends.
const trade = JSON.stringify({ e: 'trade', s: 'BTCUSDT', p: '64000.12', q: '0.015', T: 1732300000000, t: 1 }).padEnd(100, ' ');
const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on('connection', (socket) => {
  socket.on('message', (data) => {
    const [command, count] = data.toString().split(':');
    if (command !== 'blast') return;
    for (let i = 0; i < Number(count); i++) socket.send(trade);
  });
});
server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }));
process.on('disconnect', () => process.exit(0));
