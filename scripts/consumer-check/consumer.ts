/**
 * The consumer of `npm run consumer-check` (scripts/consumer-check.sh): a program that
 * uses lifeline as a user does, from its packed tarball, in a project of its own with
 * strict tsc, `skipLibCheck: false`, and neither `@opentelemetry/api` nor `@types/ws`.
 *
 * It pins the value exports of "lifeline-supervisor" and "lifeline-supervisor/testing" (a change of either is a
 * change of the public API: update the lists here deliberately), checks that every
 * `DEFAULT_*` the README names is exported from the main entry, that internals do not
 * type-check, and runs a pool and a feed against the testing kit's fault servers on
 * 127.0.0.1. Any failure exits non-zero.
 *
 * In the repository it is type-checked against the sources (`npm run typecheck`, through
 * tsconfig's `paths`); the check runs it against the tarball.
 */
import { readFileSync } from 'node:fs';
import { strict as assert } from 'node:assert';
import * as main from 'lifeline-supervisor';
import {
  ClientPool,
  DEFAULT_CONNECTIONS,
  Feed,
  LifelineError,
  isLifelineError,
  type ClientPoolOptions,
  type FeedOptions,
  type MeterLike,
  type PoolStats,
  type TransitionRecord,
} from 'lifeline-supervisor';
import * as testing from 'lifeline-supervisor/testing';
import { machinePaths, slotMachine, feedMachine, startFaultHttpServer, startFaultWsServer } from 'lifeline-supervisor/testing';

/** The value exports of "lifeline-supervisor": what users call. */
const MAIN = [
  'ClientPool',
  'DEFAULT_ACK_TIMEOUT',
  'DEFAULT_ACQUIRE_TIMEOUT',
  'DEFAULT_BAN',
  'DEFAULT_BAN_STATUSES',
  'DEFAULT_BODY_TIMEOUT',
  'DEFAULT_CONNECTIONS',
  'DEFAULT_CONNECT_TIMEOUT',
  'DEFAULT_DASHBOARD_HOST',
  'DEFAULT_DECOMPRESS',
  'DEFAULT_DRAIN_TIMEOUT',
  'DEFAULT_FEED_CONNECT_TIMEOUT',
  'DEFAULT_FEED_REF',
  'DEFAULT_HEADERS_TIMEOUT',
  'DEFAULT_HISTORY',
  'DEFAULT_IDLE_TIMEOUT',
  'DEFAULT_KEEP_ALIVE',
  'DEFAULT_LAZY',
  'DEFAULT_LOCAL_SHARE',
  'DEFAULT_MAX_BODY_SIZE',
  'DEFAULT_MAX_CONCURRENT_STREAMS',
  'DEFAULT_MAX_CONNECTION_AGE',
  'DEFAULT_MAX_MESSAGE_SIZE',
  'DEFAULT_MAX_RECONNECTS',
  'DEFAULT_MESSAGE_BUFFER',
  'DEFAULT_NO_DELAY',
  'DEFAULT_OVERFLOW',
  'DEFAULT_PAUSE',
  'DEFAULT_PAUSE_STATUSES',
  'DEFAULT_PER_MESSAGE_DEFLATE',
  'DEFAULT_PING_INTERVAL',
  'DEFAULT_PING_TIMEOUT',
  'DEFAULT_POOL_HISTORY',
  'DEFAULT_PROTOCOL',
  'DEFAULT_READ_TIMEOUT',
  'DEFAULT_REDIS_RETRY',
  'DEFAULT_REDIS_TIMEOUT',
  'DEFAULT_REDIS_TTL',
  'DEFAULT_REPLAY',
  'DEFAULT_REQUEST_LOG_SIZE',
  'DEFAULT_RESERVE',
  'DEFAULT_RETRY',
  'DEFAULT_SEND_QUEUE',
  'DEFAULT_STRATEGY',
  'DialLimiter',
  'ERROR_CODES',
  'FEED_DEFAULTS',
  'FEED_MESSAGE_CHANNEL',
  'FEED_STATE_CHANNEL',
  'Feed',
  'Governor',
  'Lease',
  'LifelineError',
  'LifelineResponse',
  'POOL_ACQUIRE_CHANNEL',
  'POOL_DEFAULTS',
  'POOL_REQUEST_CHANNEL',
  'ResponseHead',
  'SLOT_STATE_CHANNEL',
  'StreamedResponse',
  'isLifelineError',
  'redisStore',
  'serveDashboard',
];

/** The value exports of "lifeline-supervisor/testing": the fault servers, state logs, model paths and their runner, and the machines they need. */
const TESTING = [
  'DEFAULT_STEP_TIMEOUT',
  'DEFAULT_TEST_SEED',
  'FEED_BACKOFF',
  'FEED_STABLE_AFTER',
  'FaultHttpServer',
  'FaultServer',
  'FaultWsServer',
  'HeldResponses',
  'PathFailure',
  'SLOT_BACKOFF',
  'SLOT_STABLE_AFTER',
  'StateLog',
  'ceilingDelay',
  'composeMachines',
  'createBackoff',
  'createPathRunner',
  'describeEvent',
  'describePath',
  'distinctPaths',
  'feedMachine',
  'feedState',
  'formatHistory',
  'logFeed',
  'logSlot',
  'machinePaths',
  'modelEventName',
  'pathFromEvents',
  'regionState',
  'seededRandom',
  'slotMachine',
  'slotState',
  'startFaultHttpServer',
  'startFaultWsServer',
  'supervisorMachine',
  'testSeed',
  'toTestMachine',
  'transitionKey',

];

// Internals are not in the declarations: none of these names is a member (each line fails to compile if one is).
type NoneOf<Names, Type> = [Extract<Names, keyof Type>] extends [never] ? true : never;
const poolInternals: NoneOf<'returnSlot' | 'metrics' | 'clock' | 'requestDefaults' | 'recorder', ClientPool> = true;
const leaseInternals: NoneOf<'send', main.Lease> = true;
const feedInternals: NoneOf<'recorder', Feed> = true;
// @ts-expect-error a lease is made by its pool only (its constructor is private)
const constructLease = (...args: never[]) => new main.Lease(...args);
void [poolInternals, leaseInternals, feedInternals, constructLease];

// A structural meter: what lifeline needs of an OpenTelemetry Meter, without @opentelemetry/api.
const noMeter: MeterLike | undefined = undefined;

function sameNames(what: string, actual: readonly string[], expected: readonly string[]): void {
  const extra = actual.filter((name) => !expected.includes(name));
  const missing = expected.filter((name) => !actual.includes(name));
  assert.ok(extra.length === 0 && missing.length === 0, `${what}: unexpected exports [${extra.join(', ')}], missing [${missing.join(', ')}]`);
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function run(): Promise<void> {
  // 1. The public API, exactly.
  sameNames('lifeline-supervisor', Object.keys(main).sort(), MAIN);
  sameNames('lifeline-supervisor/testing', Object.keys(testing).sort(), TESTING);
  const readmeDefaults: string[] = JSON.parse(readFileSync('readme-defaults.json', 'utf8'));
  assert.ok(readmeDefaults.length > 0, 'no DEFAULT_ name found in the README');
  for (const name of readmeDefaults) assert.ok(name in main, `the README names ${name}, which "lifeline-supervisor" does not export`);
  assert.equal(DEFAULT_CONNECTIONS, 4);

  // 2. A pool against a real server on 127.0.0.1: a request, a lease, a heal, a close.
  const http = await startFaultHttpServer({
    handler: (req, res) => {
      if (req.url !== '/echo') return void res.end(`hello ${req.url}`);
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => res.end(JSON.stringify({ type: req.headers['content-type'], order: JSON.parse(body) })));
    },
  });
  try {
    const options: ClientPoolOptions = { url: http.url, connections: 2, meter: noMeter };
    const pool = await withTimeout(ClientPool.connect(options), 10_000, 'connect');
    const res = await withTimeout(pool.request({ path: '/a', query: { q: 1 } }), 10_000, 'pool.request');
    assert.equal(res.status, 200);
    assert.equal(res.text(), 'hello /a?q=1');
    // JSON both ways: `json` is sent as application/json, and res.json<T>() is typed T.
    const echoed = await withTimeout(pool.request({ method: 'POST', path: '/echo', json: { symbol: 'BTCUSDT', qty: 1 } }), 10_000, 'json');
    const order: { type: string; order: { symbol: string; qty: number } } = echoed.json<{ type: string; order: { symbol: string; qty: number } }>();
    assert.deepEqual(order, { type: 'application/json', order: { symbol: 'BTCUSDT', qty: 1 } });
    // @ts-expect-error json<T>() returns T: a field T lacks does not type-check
    void echoed.json<{ qty: number }>().price;
    await new Promise((resolve) => setImmediate(resolve));
    const lease = pool.tryAcquire() ?? (await pool.acquire({ timeout: 5_000 }));
    try {
      const leased = await withTimeout(lease.request({ method: 'POST', path: '/order', body: '{}' }), 10_000, 'lease.request');
      assert.equal(leased.status, 200);
    } finally {
      lease.release();
    }
    http.dropAll(); // every socket ends: the slots heal in the background
    const healed = await withTimeout(pool.request({ path: '/after-drop' }), 10_000, 'request after dropAll');
    assert.equal(healed.text(), 'hello /after-drop');
    const stats: PoolStats = pool.stats();
    assert.equal(stats.connections, 2);
    const history: TransitionRecord[] = pool.history();
    assert.ok(history.length > 0, 'the flight recorder kept nothing');
    await withTimeout(pool.close(), 10_000, 'pool.close');
    try {
      pool.tryAcquire();
      assert.fail('tryAcquire after close() did not throw');
    } catch (error) {
      assert.ok(error instanceof LifelineError && isLifelineError(error), `not a LifelineError: ${String(error)}`);
      assert.equal(error.code, 'POOL_CLOSED');
    }
  } finally {
    await http.close();
  }

  // 3. A feed against a real WebSocket server on 127.0.0.1: subscribed, answered, closed.
  const ws = await startFaultWsServer({ onMessage: (socket, text) => socket.send(`ack ${text}`) });
  try {
    const options: FeedOptions = { url: ws.url, subscriptions: ['btcusdt@trade'] };
    const feed = Feed.connect(options);
    const first = new Promise<string>((resolve) => feed.once('message', (data) => resolve(String(data))));
    assert.equal(await withTimeout(first, 10_000, 'feed message'), 'ack btcusdt@trade');
    await withTimeout(feed.close(), 10_000, 'feed.close');
    assert.equal(feed.state, 'closed');
  } finally {
    await ws.close();
  }

  // 4. The testing kit: paths from the machines.
  const slot = machinePaths(slotMachine);
  assert.ok(slot.paths.length > 0 && slot.uncovered.length === 0, slot.summary);
  const feedPaths = machinePaths(feedMachine, { strategy: 'shortest' });
  assert.ok(feedPaths.paths.length > 0, feedPaths.summary);
  console.log(`consumer: ${slot.summary}; ${feedPaths.summary}`);
}

const guard = setTimeout(() => {
  console.error('consumer: timed out after 60 s');
  process.exit(1);
}, 60_000);
guard.unref();
run().then(
  () => console.log('consumer: ok'),
  (error: unknown) => {
    console.error('consumer: FAILED:', error);
    process.exitCode = 1;
  },
);
