/**
 * The normal ends of real servers are not failures (issue 14, "Show it"), against
 * the real thing: Debian's nginx (`keepalive_requests`, announced and silent
 * `keepalive_timeout`, a graceful reload) and python's http.server (HTTP/1.0).
 * The same callers and checks as `test/pool-normal-ends.test.ts`: a pool of 4
 * (default options, `lazy: false`), 8 callers, GETs and POSTs, through
 * `pool.request` and through leases; then no slot entered backoff, no failure was
 * counted, the server saw closed every connection it accepted and the pool
 * dialed exactly those, no request failed, and the ends count as clean ends.
 *
 * nginx answers `GET /get/<id>` itself and proxies `POST /echo` (and `/slow/`,
 * held until the test releases it) to an echo upstream on loopback. Its
 * connections are counted with `stub_status`. A reload under continuous load is
 * left to the bench (`npm run bench -- --case lifecycle`): a request in transit
 * to an idle connection the old worker closes is the stale race, which even a
 * perfect client can lose for a POST, so no test can demand zero losses there.
 * Here the reload comes with responses in flight and the callers paused.
 */
import { afterAll, describe, it, onTestFinished } from 'vitest';
import type { ClientPool } from '../../src/index.js';
import type { FaultHttpHandler } from '../../src/testing/index.js';
import { startHttpServer } from '../helpers/http-server.js';
import {
  burstsWithPauses,
  closeAndCheck,
  counters,
  drive,
  echoHandler,
  heldResponses,
  left,
  slowPair,
  watchSlots,
  type CountConnections,
  type Outcome,
  type Plan,
  type Via,
} from '../helpers/normal-ends.js';
import { openPool, waitFor } from '../helpers/pool.js';
import { STUB_STATUS, exited, nginxCounts, openServerSockets, reloadNginx, startCountingPython } from './connection-counts.js';
import { startNginx, startPythonHttpServer, stopAllRealServers } from './real-servers.js';

afterAll(() => stopAllRealServers());

const CALLERS = 8;
const REQUESTS = 50;
const CONNECTIONS = 4;
/** Bounds a failing test (drives and waits share `budget()`), never a passing one. */
const TEST_TIMEOUT = 40_000;

const openLoadPool = (url: string) => openPool({ url, connections: CONNECTIONS, lazy: false });

/**
 * Waits until the server has closed every connection it had accepted when called,
 * and the pool has seen each of those ends (a clean end each): the callers pause while
 * the server ends them (idle timeouts), so nothing is in transit. Without the second
 * half a loaded machine read a FIN late, after the next burst had leased the
 * connection: the stale race, which a lease (never repeated) loses by design.
 */
async function untilEnded(count: CountConnections, pool: ClientPool, outcome: Outcome, stopAt: number): Promise<void> {
  const target = (await count()).accepted!;
  const deadline = performance.now() + left(stopAt, 5_000);
  for (;;) {
    const now = await count();
    const seen = pool.stats();
    if (now.accepted! - now.open >= target && seen.cleanEnds + seen.failures >= target) return;
    if (performance.now() > deadline) {
      throw new Error(`the server did not end its idle connections: ${JSON.stringify({ target, now, counters: counters(pool), stats: pool.stats(), failed: outcome.failed.slice(0, 5) })}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// ====================================================================== nginx

function nginxConfig(upstreamPort: number, directives: string): string {
  return [
    directives,
    STUB_STATUS,
    'location /get/ { return 200 "get:$request_uri"; }',
    `location ~ ^/(echo|slow/) { proxy_pass http://127.0.0.1:${upstreamPort}; }`,
  ].join('\n    ');
}

async function nginxPool(directives: string, upstreamHandler: FaultHttpHandler = echoHandler) {
  const upstream = await startHttpServer(upstreamHandler);
  const nginx = await startNginx({ config: nginxConfig(upstream.port, directives) });
  onTestFinished(() => nginx.stop());
  const count = await nginxCounts(nginx.port);
  const pool = await openLoadPool(nginx.url);
  return { upstream, nginx, count, pool, slots: watchSlots(pool) };
}

/** Bursts of callers, each followed by a pause in which nginx ends every connection that served. */
async function nginxIdleCase(via: Via, directives: string, pauses: number, requests: number): Promise<void> {
  const { count, pool, slots } = await nginxPool(directives);
  const outcome = await burstsWithPauses(pool, { callers: CALLERS, requests, via }, pauses, (outcome, stopAt) => untilEnded(count, pool, outcome, stopAt));
  await closeAndCheck(pool, count, outcome, slots, { ends: true });
}

describe('nginx ends connections normally, and the pool takes none of it for a failure', () => {
  describe.each<Via>(['request', 'lease'])('callers use %s', (via) => {
    it('keepalive_requests 5: Connection: close on every 5th response', async () => {
      const { count, pool, slots } = await nginxPool('keepalive_requests 5;');
      const outcome = await drive(pool, { callers: CALLERS, requests: REQUESTS, via });
      await closeAndCheck(pool, count, outcome, slots, { ends: true });
    }, TEST_TIMEOUT);

    it('keepalive_timeout 1s 1s: Keep-Alive: timeout=1 announced and kept, callers pausing past it', async () => {
      await nginxIdleCase(via, 'keepalive_timeout 1s 1s;', 2, 25);
    }, TEST_TIMEOUT);

    it('keepalive_timeout 500ms: idle connections closed silently after serving', async () => {
      await nginxIdleCase(via, 'keepalive_timeout 500ms;', 2, 25);
    }, TEST_TIMEOUT);

    it('a graceful reload (SIGHUP): the old worker closes its idle connections at once and its busy ones after their responses', async () => {
      const held = heldResponses();
      const { upstream, nginx, count, pool, slots } = await nginxPool('', held.handler);
      // Each burst has every connection serve, so that each one the reload ends had served a response.
      const outcome = await burstsWithPauses(pool, { callers: CALLERS, requests: 20, via }, 2, async (outcome) => {
        held.hold();
        const before = upstream.requests;
        const inFlight = slowPair(pool, via, before, outcome);
        await waitFor(() => upstream.requests === before + 2, () => ({ upstream: upstream.requests, stats: pool.stats() }));
        const { old } = await reloadNginx(nginx.pid);
        held.release();
        await Promise.all(inFlight);
        await exited(old);
      });
      await closeAndCheck(pool, count, outcome, slots, { ends: true });
    }, TEST_TIMEOUT);
  });
});

// ===================================================================== python

const getOk: Plan = () => ({ method: 'GET', path: '/', expect: 'ok' });

describe('python http.server (HTTP/1.0) closes after every response, and the pool takes none of it for a failure', () => {
  describe.each<Via>(['request', 'lease'])('callers use %s', (via) => {
    it('python3 -m http.server --protocol HTTP/1.0: GETs, with Content-Length', async () => {
      const python = await startPythonHttpServer();
      onTestFinished(() => python.stop());
      const pool = await openLoadPool(python.url);
      const slots = watchSlots(pool);
      const outcome = await drive(pool, { callers: CALLERS, requests: REQUESTS, via, plan: getOk });
      // It counts nothing: its open sockets come from /proc, and each response ended its connection.
      const count = () => ({ accepted: undefined, open: openServerSockets(python.port) });
      await closeAndCheck(pool, count, outcome, slots, { ends: true, endedBefore: outcome.ok, dials: [outcome.ok, outcome.ok + CONNECTIONS] });
    }, TEST_TIMEOUT);

    it('its handler classes with POSTs echoed without Content-Length (the body ends at EOF), connections counted', async () => {
      const python = await startCountingPython();
      onTestFinished(() => python.stop());
      const pool = await openLoadPool(python.url);
      const slots = watchSlots(pool);
      const outcome = await drive(pool, { callers: CALLERS, requests: REQUESTS, via });
      await closeAndCheck(pool, python.counts, outcome, slots, { ends: true });
    }, TEST_TIMEOUT);
  });
});
