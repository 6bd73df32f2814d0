/**
 * A server's normal end of a connection is not a failure (issue 14, "Show it";
 * DESIGN.md, "The central distinction"). For each way healthy servers end
 * connections on purpose, a pool of 4 (default options, `lazy: false`) serves 8
 * concurrent callers, GETs and POSTs, through `pool.request` and through leases,
 * and then: no slot entered backoff, no failure was counted, the server saw
 * closed every connection it accepted and the pool dialed exactly those, no
 * request failed, and every connection the server ended counts as a clean end.
 *
 * The server is the testing kit's fault HTTP server, in its normal-life modes;
 * `test/peers/normal-ends.test.ts` does the same against nginx and python.
 * Behaviour only, never speed. Where a case needs idle time (idle timeouts, a
 * graceful close), the callers pause while the server ends connections, so that
 * no request is ever in transit towards a connection being closed: that race is
 * the stale-connection case, tested elsewhere, not a normal end.
 */
import { describe, expect, it } from 'vitest';
import type { ClientPool } from '../../src/index.js';
import type { FaultHttpHandler } from '../../src/testing/index.js';
import { startHttpServer, type TestServer } from '../helpers/http-server.js';
import { burstsWithPauses, closeAndCheck, counters, drive, echoHandler, heldResponses, left, slowPair, watchSlots, type Outcome, type Via } from '../helpers/normal-ends.js';
import { openPool, waitFor } from '../helpers/pool.js';

const CALLERS = 8;
const REQUESTS = 50;
/** Bounds a failing test (its drives and waits share `budget()`), never a passing one. */
const TEST_TIMEOUT = 30_000;

async function setUp(handler: FaultHttpHandler = echoHandler) {
  const server = await startHttpServer(handler);
  const pool = await openPool({ url: server.url, connections: 4, lazy: false });
  const slots = watchSlots(pool);
  const count = () => ({ accepted: server.connections, open: server.connections - server.closedConnections });
  return { server, pool, slots, count };
}

/** Connections open now that have served at least one request. */
function servedAndOpen(server: TestServer): number {
  server.forgetClosed();
  return server.requestsPerConnection.filter((n) => n > 0).length;
}

/** What a failed wait shows: the server's counts and the pool's. */
const state = (server: TestServer, pool: ClientPool, outcome: Outcome) => () => ({
  server: { accepted: server.connections, closed: server.closedConnections, requests: server.requests },
  counters: counters(pool),
  stats: pool.stats(),
  failed: outcome.failed.slice(0, 5),
});

/**
 * The callers pause until every connection that served has been closed (by the
 * server's idle limit, or by the pool first): the ends happen while nothing is in
 * transit.
 */
async function pauseUntilEnded(server: TestServer, pool: ClientPool, outcome: Outcome, stopAt: number): Promise<void> {
  const target = server.closedConnections + servedAndOpen(server);
  await waitFor(() => server.closedConnections >= target, state(server, pool, outcome), left(stopAt, 5_000));
}

/** Bursts of callers, each followed by a pause in which every connection that served is ended (by the server's idle limit, or recycled by the pool first). */
async function idleCase(via: Via, configure: (server: TestServer) => void, pauses: number, requests: number): Promise<void> {
  const { server, pool, slots, count } = await setUp();
  configure(server);
  const outcome = await burstsWithPauses(pool, { callers: CALLERS, requests, via }, pauses, (outcome, stopAt) => pauseUntilEnded(server, pool, outcome, stopAt));
  await closeAndCheck(pool, count, outcome, slots, { ends: true });
}

/** Ends that the server says or implies in the response itself, or right after it: the callers never pause. */
const steadyCases: { name: string; configure: (server: TestServer) => void }[] = [
  { name: 'Connection: close on every 5th response (nginx keepalive_requests 5)', configure: (server) => server.keepAliveRequests(5) },
  { name: 'HTTP/1.0 responses with Content-Length, a FIN after each (python http.server)', configure: (server) => server.http10() },
  { name: 'HTTP/1.0 responses without Content-Length: the body ends at EOF', configure: (server) => server.http10(true, { contentLength: false }) },
  { name: 'a FIN right after the 5th response of each connection, no Connection: close (closeAfter 5)', configure: (server) => server.closeAfter(5) },
];

describe.each<Via>(['request', 'lease'])('normal ends are not failures (callers use %s)', (via) => {
  for (const { name, configure } of steadyCases) {
    it(name, async () => {
      const { server, pool, slots, count } = await setUp();
      configure(server);
      const outcome = await drive(pool, { callers: CALLERS, requests: REQUESTS, via });
      await closeAndCheck(pool, count, outcome, slots, { ends: true });
    }, TEST_TIMEOUT);
  }

  it('idle close after serving: a silent idle timeout (nginx keepalive_timeout N)', async () => {
    await idleCase(via, (server) => server.idleTimeout(300), 3, 20);
  }, TEST_TIMEOUT);

  it('an announced Keep-Alive: timeout=1, kept by the server (nginx keepalive_timeout 1s 1s)', async () => {
    await idleCase(via, (server) => server.keepAliveTimeout(1), 2, 25);
  }, TEST_TIMEOUT);

  it('a graceful close of every connection at once (an nginx reload): idle ones at once, busy ones after their response', async () => {
    const held = heldResponses();
    const { server, pool, slots, count } = await setUp(held.handler);
    const outcome = await burstsWithPauses(pool, { callers: CALLERS, requests: 20, via }, 2, async (outcome, stopAt) => {
      // Every connection open has served (a connection closed before its first response is a failure, not this case).
      server.forgetClosed();
      expect(server.requestsPerConnection.every((n) => n > 0), JSON.stringify(server.requestsPerConnection)).toBe(true);
      held.hold();
      const requestsBefore = server.requests;
      const inFlight = slowPair(pool, via, server.requests, outcome);
      await waitFor(() => server.requests === requestsBefore + 2, state(server, pool, outcome), left(stopAt, 5_000));
      const closedBefore = server.closedConnections;
      const open = server.sockets.size;
      server.endAll();
      // The idle connections go at once; the two busy ones stay for their responses.
      await waitFor(() => server.closedConnections >= closedBefore + open - 2, state(server, pool, outcome), left(stopAt, 5_000));
      held.release();
      await Promise.all(inFlight);
      await waitFor(() => server.closedConnections >= closedBefore + open, state(server, pool, outcome), left(stopAt, 5_000));
    });
    await closeAndCheck(pool, count, outcome, slots, { ends: true });
  }, TEST_TIMEOUT);
});
