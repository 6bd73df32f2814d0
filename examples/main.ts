/**
 * The main job until the dashboard demo exists: an embedded loopback "exchange"
 * answering REST calls and streaming trades over WebSocket, a lifeline pool and
 * a feed against it, a traffic loop, and a fault every few seconds (every
 * server socket dropped) to show both healing.
 *
 *   npm start                  # runs 10 s
 *   npm start -- --duration 60 # or until Ctrl-C
 */
import http from 'node:http';
import { once } from 'node:events';
import type net from 'node:net';
import { parseArgs } from 'node:util';
import { WebSocketServer } from 'ws';
import { ClientPool, Feed, isLifelineError } from '../src/index.js';

const { values } = parseArgs({ options: { duration: { type: 'string', default: '10' } } });
const durationMs = Number(values.duration) * 1_000;

// --- the exchange: a tiny REST server on 127.0.0.1 -------------------------------------------
const sockets = new Set<net.Socket>();
let price = 64_000;
const exchange = http.createServer((req, res) => {
  price += (Math.random() - 0.5) * 10;
  res.setHeader('content-type', 'application/json');
  if (req.url?.startsWith('/api/v3/ticker')) res.end(JSON.stringify({ symbol: 'BTCUSDT', price: price.toFixed(2) }));
  else if (req.method === 'POST') res.end(JSON.stringify({ orderId: Math.floor(Math.random() * 1e9), status: 'NEW' }));
  else (res.statusCode = 404), res.end('{}');
});
exchange.on('connection', (socket) => {
  sockets.add(socket);
  socket.once('close', () => sockets.delete(socket));
});
// The market-data stream: trades every 20 ms to every subscriber.
const stream = new WebSocketServer({ server: exchange });
const subscribed = new Set<import('ws').WebSocket>();
stream.on('connection', (socket) => {
  socket.on('message', () => subscribed.add(socket)); // any message subscribes, for the demo
  socket.on('close', () => subscribed.delete(socket));
});
const ticker = setInterval(() => {
  const trade = JSON.stringify({ e: 'trade', s: 'BTCUSDT', p: price.toFixed(2), T: Date.now() });
  for (const socket of subscribed) socket.send(trade);
}, 20);
exchange.listen(0, '127.0.0.1');
await once(exchange, 'listening');
const { port } = exchange.address() as net.AddressInfo;

// --- the client: a pool of 4 keep-alive connections --------------------------------------------
const pool = await ClientPool.connect({
  url: `http://127.0.0.1:${port}`,
  basePath: '/api/v3',
  headers: { 'x-api-key': 'demo-key' },
  connections: 4,
});
const feed = Feed.connect({
  url: `ws://127.0.0.1:${port}/ws`,
  subscriptions: ['{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1}'],
  heartbeat: { interval: 1_000, timeout: 500 },
  staleAfter: 2_000,
});
let trades = 0;
feed.on('message', () => trades++);
feed.on('state', (state) => console.log(`feed: ${state}`));
console.log(`lifeline: pool of 4 connected to 127.0.0.1:${port}; running ${durationMs / 1000} s (Ctrl-C to stop)`);

let ok = 0;
const errors = new Map<string, number>();
let running = true;
const stop = () => (running = false);
process.once('SIGINT', stop);
setTimeout(stop, durationMs).unref();

// A fault every 3 s: the exchange drops every socket while the traffic runs.
const faults = setInterval(() => {
  console.log(`fault: exchange drops ${sockets.size} sockets`);
  for (const socket of sockets) socket.destroy();
}, 3_000);

const report = setInterval(() => {
  const s = pool.stats();
  console.log(
    `trades=${trades} feed=${feed.state} ok=${ok} errors=${JSON.stringify(Object.fromEntries(errors))} ` +
      `slots: healthy=${s.healthy} busy=${s.busy} connecting=${s.connecting} backoff=${s.backoff} poisoned=${s.poisoned}`,
  );
}, 1_000);

async function trader(id: number): Promise<void> {
  while (running) {
    try {
      const res = await pool.request({ path: '/ticker/price', query: { symbol: 'BTCUSDT' } });
      res.json();
      ok++;
    } catch (error) {
      const code = isLifelineError(error) ? error.code : 'UNKNOWN';
      errors.set(code, (errors.get(code) ?? 0) + 1);
    }
    await new Promise((resolve) => setTimeout(resolve, 5 + id));
  }
}

await Promise.all(Array.from({ length: 8 }, (_, i) => trader(i)));
clearInterval(faults);
clearInterval(report);
clearInterval(ticker);
await feed.close();
await pool.close();
stream.close();
exchange.close();
console.log(`done: ${ok} requests served, ${trades} trades received, feed connections ${feed.stats().connections}, errors: ${JSON.stringify(Object.fromEntries(errors))}`);
