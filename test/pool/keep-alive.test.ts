/**
 * Connections recycled before they go stale: the server's `Keep-Alive:
 * timeout=N` hint, an `idleTimeout` of our own, and `maxConnectionAge`. Idle
 * connections are swept in the background on the pool's (simulated) clock, so
 * the slot heals before any caller could be handed a socket the server is
 * about to close; the server sees a fresh connection, and no request fails.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import type { ClientPoolOptions } from '../../src/index.js';
import { startHttpServer } from '../helpers/http-server.js';
import { isFull, nextTurn, openPool, waitFor, waitForStats } from '../helpers/pool.js';

async function setUp(options: Partial<ClientPoolOptions>, keepAliveHeader?: string) {
  const server = await startHttpServer((_req, res) => {
    if (keepAliveHeader) res.setHeader('keep-alive', keepAliveHeader);
    res.end('ok');
  });
  // Node announces its own keepAliveTimeout (`Keep-Alive: timeout=60` here) unless it is 0.
  server.server.keepAliveTimeout = 0;
  const clock = new SimulatedClock();
  const pool = await openPool({ url: server.url, connections: 1, clock, ...options });
  return { server, clock, pool };
}

/**
 * Waits for the server to have accepted `n` connections. A recycled slot's redial
 * follows a backoff of 0 ms, which on a simulated clock still wants a tick.
 */
async function redialed(server: { connections: number }, clock: SimulatedClock, n: number): Promise<void> {
  await waitFor(
    () => {
      clock.increment(0);
      return server.connections === n;
    },
    () => server.connections,
  );
}

/** Moves simulated time in sweep-sized steps, as real time would pass. */
function advance(clock: SimulatedClock, ms: number): void {
  for (let t = 0; t < ms; t += 50) clock.increment(Math.min(50, ms - t));
}

describe('keep-alive hints and connection limits', () => {
  it("recycles an idle connection before the server's announced Keep-Alive timeout", async () => {
    const { server, clock, pool } = await setUp({}, 'timeout=2');
    expect((await pool.request({ path: '/' })).status).toBe(200);
    await nextTurn();
    // timeout=2 is trusted to 1 s; the sweep runs every 100 ms and looks one sweep ahead.
    advance(clock, 850);
    expect(server.connections).toBe(1);
    advance(clock, 100);
    await redialed(server, clock, 2);
    await waitForStats(pool, isFull);
    expect((await pool.request({ path: '/' })).status).toBe(200);
    expect(server.requestsPerConnection).toEqual([1, 1]);
  });

  it('keeps a connection whose server announces nothing, however long it idles', async () => {
    const { server, clock, pool } = await setUp({});
    await pool.request({ path: '/' });
    advance(clock, 60_000);
    await pool.request({ path: '/' });
    expect(server.requestsPerConnection).toEqual([2]);
  });

  it('idleTimeout recycles a connection idle that long, and a busy one is never cut', async () => {
    const { server, clock, pool } = await setUp({ idleTimeout: 500 });
    const lease = pool.tryAcquire()!;
    // Leased well past the idle limit: in use is not idle.
    advance(clock, 2_000);
    expect((await lease.request({ path: '/' })).status).toBe(200);
    lease.release();
    await nextTurn();
    expect(server.connections).toBe(1);
    advance(clock, 500);
    await redialed(server, clock, 2);
    await waitForStats(pool, isFull);
    expect((await pool.request({ path: '/' })).status).toBe(200);
  });

  it('maxConnectionAge recycles an old connection once it is released, and the pool stays full', async () => {
    const { server, clock, pool } = await setUp({ maxConnectionAge: 2_000, random: () => 0 });
    await pool.request({ path: '/' });
    await nextTurn();
    const lease = pool.tryAcquire()!;
    advance(clock, 2_000);
    await lease.request({ path: '/' });
    lease.release();
    await redialed(server, clock, 2);
    await waitForStats(pool, isFull);
    expect((await pool.request({ path: '/' })).status).toBe(200);
    expect(server.requestsPerConnection).toEqual([2, 1]);
  });

  it('refuses a negative idleTimeout or maxConnectionAge with INVALID_OPTIONS naming it', async () => {
    const server = await startHttpServer();
    for (const field of ['idleTimeout', 'maxConnectionAge'] as const) {
      await expect(openPool({ url: server.url, [field]: -1 })).rejects.toMatchObject({
        code: 'INVALID_OPTIONS',
        message: expect.stringContaining(`\`${field}\``),
      });
    }
  });
});
