/**
 * How long close() takes when the peer's packets are lost: run by
 * scripts/close-under-loss.sh, with the servers in one network namespace and
 * the clients in another, 30% of the packets dropped each way.
 *
 *   node --import tsx scripts/close-under-loss.ts server HOST      (in the server's namespace)
 *   DRAIN=ms node --import tsx scripts/close-under-loss.ts client HOST [ROUNDS]
 *
 * The client opens pools (http, https) and feeds (ws, wss) against those
 * servers, keeps them busy (uploads, large bodies, a stream of messages), then
 * closes each at a random moment and prints how long close() took and whether
 * any socket was left.
 */
import http from 'node:http';
import https from 'node:https';
import { WebSocketServer } from 'ws';
import { ClientPool, Feed } from '../src/index.js';
import { TEST_CERT, TEST_KEY } from '../test/fixtures/tls.js';

const [role, host = '127.0.0.1', roundsArg = '10'] = process.argv.slice(2);
const PORTS = { http: 18080, https: 18443, ws: 18081, wss: 18444 };
const BODY = Buffer.alloc(1 << 20, 'x');
const DRAIN = Number(process.env.DRAIN ?? 500);

function serve(): void {
  const handler: http.RequestListener = (req, res) => {
    req.resume();
    req.on('end', () => res.end(BODY));
  };
  http.createServer({ keepAliveTimeout: 60_000 }, handler).listen(PORTS.http, host);
  https.createServer({ cert: TEST_CERT, key: TEST_KEY, keepAliveTimeout: 60_000 }, handler).listen(PORTS.https, host);
  const stream = (wss: WebSocketServer) =>
    wss.on('connection', (ws) => {
      const chunk = Buffer.alloc(64 << 10, 'y');
      const timer = setInterval(() => ws.send(chunk), 10);
      ws.on('close', () => clearInterval(timer));
      ws.on('error', () => {});
    });
  stream(new WebSocketServer({ host, port: PORTS.ws }));
  const tlsServer = https.createServer({ cert: TEST_CERT, key: TEST_KEY });
  stream(new WebSocketServer({ server: tlsServer }));
  tlsServer.listen(PORTS.wss, host);
  console.log(`serving on ${host}`);
}

const tls = { ca: TEST_CERT, servername: 'localhost' };

async function poolRound(scheme: 'http' | 'https'): Promise<number> {
  const pool = await ClientPool.connect({
    url: `${scheme}://${host}:${PORTS[scheme]}`,
    connections: 4,
    lazy: true,
    drainTimeout: DRAIN,
    maxBodySize: 4 << 20,
    ...(scheme === 'https' ? { tls } : {}),
  });
  let stop = false;
  const callers = Array.from({ length: 8 }, async () => {
    while (!stop) await pool.request({ method: 'POST', path: '/', body: Buffer.alloc(256 << 10) }).catch(() => {});
  });
  await new Promise((resolve) => setTimeout(resolve, 500 + Math.random() * 2_000));
  stop = true; // a request after close() rejects at once: a caller looping on it would starve the event loop
  const started = performance.now();
  await pool.close();
  const took = performance.now() - started;
  await Promise.race([Promise.all(callers), new Promise((resolve) => setTimeout(resolve, 10_000))]);
  return took;
}

/** Five feeds (heartbeat on, so some are poisoned and reconnecting under loss), each closed at its own moment: the slowest close. */
async function feedRound(scheme: 'ws' | 'wss'): Promise<number> {
  const closes = Array.from({ length: 5 }, async () => {
    const feed = Feed.connect({
      url: `${scheme}://${host}:${PORTS[scheme]}`,
      subscriptions: ['{"op":"subscribe"}'],
      heartbeat: { interval: 500, timeout: 1_000 },
      backoff: { initial: 50, max: 500 },
      ...(scheme === 'wss' ? { tls } : {}),
    });
    feed.on('message', () => {});
    await new Promise((resolve) => setTimeout(resolve, 500 + Math.random() * 2_000));
    const state = feed.state;
    const started = performance.now();
    await feed.close();
    const took = performance.now() - started;
    states[state] = (states[state] ?? 0) + 1;
    return took;
  });
  return Math.max(...(await Promise.all(closes)));
}

/** The states the feeds were closed in. */
const states: Record<string, number> = {};

function tcpHandles(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'TCPSocketWrap').length;
}

async function client(rounds: number): Promise<void> {
  const pending = (what: string, p: Promise<number>) =>
    Promise.race([p, new Promise<number>((resolve) => setTimeout(() => resolve(Infinity), 30_000))]).then((ms) => {
      console.log(`${what}: close() ${Number.isFinite(ms) ? `${ms.toFixed(0)} ms` : 'still pending after 30 s'}`);
      return ms;
    });
  const results: Record<string, number[]> = { http: [], https: [], ws: [], wss: [] };
  for (let round = 0; round < rounds; round++) {
    const [a, b, c, d] = await Promise.all([
      pending(`round ${round} http pool`, poolRound('http')),
      pending(`round ${round} https pool`, poolRound('https')),
      pending(`round ${round} ws feed`, feedRound('ws')),
      pending(`round ${round} wss feed`, feedRound('wss')),
    ]);
    results.http!.push(a!);
    results.https!.push(b!);
    results.ws!.push(c!);
    results.wss!.push(d!);
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
  console.log(`\nclose() in ms over ${rounds} rounds (drainTimeout ${DRAIN} ms for pools; feeds close within closeTimeout):`);
  for (const [what, times] of Object.entries(results)) {
    const sorted = [...times].sort((x, y) => x - y);
    console.log(`  ${what.padEnd(6)} median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(0)}  max ${sorted.at(-1)!.toFixed(0)}`);
  }
  console.log(`feeds closed while: ${JSON.stringify(states)}`);
  console.log(`TCP handles left open: ${tcpHandles()}`);
  process.exit(0);
}

if (role === 'server') serve();
else await client(Number(roundsArg));
