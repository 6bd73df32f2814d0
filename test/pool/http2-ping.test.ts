/**
 * The HTTP/2 PING heartbeat (issue 19): a connection alive at TCP level whose server stopped
 * answering is poisoned after `http2.pingTimeout`, a failure; one that answers is left alone.
 * The server is frozen for real (a relay that stops forwarding while TCP stays up); the
 * heartbeat's interval and deadline run on an injected clock.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import type { LifelineError } from '../../src/index.js';
import { answer, startFreezingRelay, startH2Server } from '../helpers/h2-server.js';
import { openPool, waitFor, waitForStats } from '../helpers/pool.js';

const PING = { pingInterval: 1_000, pingTimeout: 500 };

async function setUp(hold: boolean) {
  const server = await startH2Server((stream, { headers }) => {
    if (hold && headers[':path'] === '/held') return; // never answered
    answer(stream, headers);
  });
  const relay = await startFreezingRelay(server.port);
  const clock = new SimulatedClock();
  const pool = await openPool({ url: relay.url, protocol: 'http2', connections: 1, http2: PING, clock });
  await pool.request({ path: '/warm' });
  return { server, relay, clock, pool };
}

/** Real time for bytes to cross loopback (a PING and its ack): a few turns of the loop. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

describe('HTTP/2 PING heartbeat', () => {
  it('a server that answers its PINGs keeps its connection', async () => {
    const { clock, pool } = await setUp(false);
    for (let i = 0; i < 3; i++) {
      clock.increment(PING.pingInterval);
      await settle(); // the ack comes back
      clock.increment(PING.pingTimeout);
    }
    expect(pool.stats()).toMatchObject({ dials: 1, failures: 0, healthy: 1 });
  });

  it('a server that stops answering is poisoned after pingTimeout: a failure, and the request in flight gets its code', async () => {
    const { relay, clock, pool } = await setUp(true);
    const lease = (await pool.acquire())!;
    const held = lease.request({ method: 'POST', path: '/held', body: 'x' }).catch((e: unknown) => e as LifelineError);
    await settle();
    relay.freeze();
    clock.increment(PING.pingInterval);
    await settle();
    expect(pool.stats().failures).toBe(0);
    clock.increment(PING.pingTimeout - 1);
    expect(pool.stats().failures).toBe(0);
    clock.increment(1);
    const error = await held;
    lease.release();
    expect(error).toMatchObject({ code: 'CONNECTION_LOST', sent: 'written-no-response' });
    await waitForStats(pool, (s) => s.failures === 1);
    const failure = pool.history().find((r) => r.reason === 'HEARTBEAT_TIMEOUT');
    expect(failure?.detail).toBe('the HTTP/2 server answered no PING within 500 ms');
    // The slot heals (through the frozen relay it connects, and is poisoned again at the next deadline).
    await waitFor(
      () => pool.stats().dials >= 2,
      () => pool.stats(),
    );
  });
});
