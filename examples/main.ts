/**
 * The main job: lifeline against an exchange that keeps breaking, with the
 * live dashboard to watch it heal.
 *
 * An exchange simulator on loopback (REST and a market-data WebSocket), a pool
 * of 4 keep-alive connections and two feeds against it, traders sending
 * requests and orders, and a fault every few seconds: sockets dropped or
 * reset, the REST server restarted, the stream gone silent, pongs withheld.
 *
 *   npm start                       # until Ctrl-C
 *   npm start -- --duration 30      # 30 s, then a clean close
 *   npm start -- --port 7400        # the dashboard on a fixed port (default: a free one)
 */
import { parseArgs } from 'node:util';
import { ClientPool, Feed, isLifelineError, serveDashboard } from 'lifeline-supervisor';
import { startExchange, type Exchange } from './exchange.js';

const { values } = parseArgs({ options: { duration: { type: 'string' }, port: { type: 'string', default: '0' } } });
const durationMs = values.duration === undefined ? Infinity : Number(values.duration) * 1_000;

const exchange = await startExchange();
const pool = await ClientPool.connect({
  url: exchange.rest.url,
  basePath: '/api/v3',
  headers: { 'x-api-key': 'demo-secret-key-0001' }, // secret by name: scrubbed from everything inspection shows
  connections: 4,
  history: 200, // the flight recorder the dashboard shows (100 state changes per slot by default)
  acquireTimeout: 1_000,
  backoff: { initial: 100, max: 2_000 },
});
const isAck = (data: string | Buffer) => data.toString().startsWith('{"result"');
const feedOptions = {
  url: `${exchange.stream.url}/ws`,
  isAck,
  heartbeat: { interval: 1_000, timeout: 500 },
  staleAfter: 1_500,
  backoff: { initial: 100, max: 2_000 },
};
const trades = Feed.connect({ ...feedOptions, subscriptions: ['{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1}'] });
const depth = Feed.connect({ ...feedOptions, subscriptions: ['{"method":"SUBSCRIBE","params":["btcusdt@depth"],"id":2}'] });
const dashboard = await serveDashboard({ pools: [pool], feeds: [trades, depth], port: Number(values.port) });

console.log(`lifeline demo: exchange at ${exchange.rest.url} (REST) and ${exchange.stream.url} (stream)`);
console.log(`dashboard: ${dashboard.url}`);
console.log(durationMs === Infinity ? 'running until Ctrl-C' : `running ${durationMs / 1_000} s`);

let messages = 0;
for (const feed of [trades, depth]) {
  feed.on('message', () => messages++);
  feed.on('error', () => {}); // shown on the dashboard; the feed heals on its own
}

// --- faults, one every 4 s, in turn ------------------------------------------------------------
interface Fault {
  name: string;
  start(exchange: Exchange): void | Promise<void>;
  /** Undo after a while (ms), if the fault is a condition rather than an event. */
  heal?: [number, (exchange: Exchange) => void | Promise<void>];
}
const faults: Fault[] = [
  { name: 'REST: every socket dropped', start: (x) => x.rest.dropAll() },
  { name: 'stream: every socket dropped', start: (x) => x.stream.dropAll() },
  { name: 'REST: every socket reset', start: (x) => x.rest.resetAll() },
  { name: 'stream: silent (feeds go stale)', start: (x) => x.stream.silence(), heal: [2_000, (x) => x.stream.heal()] },
  { name: 'REST: server down for 1.5 s', start: (x) => x.rest.stop(), heal: [1_500, (x) => x.rest.restart()] },
  { name: 'stream: pongs withheld', start: (x) => x.stream.answerPings(false), heal: [2_000, (x) => x.stream.heal()] },
];
let nextFault = 0;
const healing = new Set<NodeJS.Timeout>();
const faultTimer = setInterval(() => {
  const fault = faults[nextFault++ % faults.length]!;
  console.log(`fault: ${fault.name}`);
  void fault.start(exchange);
  if (fault.heal) {
    const [after, heal] = fault.heal;
    const timer = setTimeout(() => {
      healing.delete(timer);
      void heal(exchange);
    }, after);
    healing.add(timer);
  }
}, 4_000);

// --- traffic: 8 traders polling prices, one order in ten ---------------------------------------
let ok = 0;
const errors = new Map<string, number>();
let running = true;
const stop = () => (running = false);
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
if (durationMs !== Infinity) setTimeout(stop, durationMs).unref();

async function trader(id: number): Promise<void> {
  for (let n = 0; running; n++) {
    try {
      const res =
        n % 10 === 9
          ? await pool.request({ method: 'POST', path: '/order', body: JSON.stringify({ symbol: 'BTCUSDT', side: 'BUY', qty: '0.01' }) })
          : await pool.request({ path: '/ticker/price', query: { symbol: 'BTCUSDT' } });
      res.json();
      ok++;
    } catch (error) {
      const code = isLifelineError(error) ? error.code : 'UNKNOWN';
      errors.set(code, (errors.get(code) ?? 0) + 1);
    }
    await new Promise((resolve) => setTimeout(resolve, 10 + id));
  }
}

const report = setInterval(() => {
  const s = pool.stats();
  console.log(
    `requests ok=${ok} failed=${JSON.stringify(Object.fromEntries(errors))} | slots healthy=${s.healthy} busy=${s.busy} ` +
      `connecting=${s.connecting} backoff=${s.backoff} poisoned=${s.poisoned} | feeds ${trades.state}/${depth.state} messages=${messages}`,
  );
}, 2_000);

await Promise.all(Array.from({ length: 8 }, (_, i) => trader(i)));

clearInterval(faultTimer);
clearInterval(report);
for (const timer of healing) clearTimeout(timer);
await dashboard.close();
await Promise.all([trades.close(), depth.close(), pool.close()]);
await exchange.close();
console.log(
  `done: ${ok} requests served, ${messages} feed messages, feed connections ${trades.stats().connections}+${depth.stats().connections}, ` +
    `failed requests by code: ${JSON.stringify(Object.fromEntries(errors))}`,
);
