/**
 * Resource hygiene: once `close()` resolves, a pool, a feed or a dashboard has
 * left no socket or timer behind, whatever state it was closed in (live,
 * failed to connect, backing off, still connecting), and an acquire leaves no
 * listener on the caller's AbortSignal once it has settled.
 *
 * Two counts, because lifeline unrefs its idle sockets and its timers, and
 * `process.getActiveResourcesInfo()` lists only what keeps the process alive:
 * - every socket and timer created from lifeline's own code (async_hooks, by
 *   the creation stack; the fault servers in src/testing are the test's, not
 *   the library's) must be destroyed: a leaked unref'd timer or socket counts;
 * - the ref'd handles by kind must come back to a count taken with the test's
 *   servers already up (so their listening handles are in both counts).
 * Destroy hooks and the servers' side of each connection come a moment after
 * close() resolves, hence the waits.
 */
import { createHook } from 'node:async_hooks';
import { getEventListeners } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { ClientPool, isLifelineError, serveDashboard } from '../../src/index.js';
import { SseClient } from '../helpers/dashboard-client.js';
import { openFeed, waitForState } from '../helpers/feed.js';
import { startHttpServer } from '../helpers/http-server.js';
import { nextTurn, waitFor } from '../helpers/pool.js';
import { startWsServer } from '../helpers/ws-server.js';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const TESTING = fileURLToPath(new URL('../../src/testing/', import.meta.url));
/** TCP sockets (a TLS socket's own TCPWRAP included) and timers. Not TLSWRAP: its destroy waits for a GC. */
const TRACKED = new Set(['Timeout', 'TCPWRAP']);

/** Sockets and timers created from lifeline's code and not yet destroyed, each with where it was created. */
const alive = new Map<number, string>();
const hook = createHook({
  init(id, type) {
    if (!TRACKED.has(type)) return;
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 60; // lifeline's frame can sit deep under undici's or ws's
    const stack = new Error().stack ?? '';
    Error.stackTraceLimit = limit;
    if (!stack.includes(SRC) || stack.includes(TESTING)) return;
    const frames = stack.split('\n').filter((line) => line.includes(SRC));
    alive.set(id, `${type} created at ${frames.slice(0, 3).join(' <')}`);
  },
  destroy(id) {
    alive.delete(id);
  },
}).enable();
afterAll(() => void hook.disable());
// Each test answers for what it created: a leak of one is not blamed on the next.
beforeEach(() => alive.clear());

const KINDS = ['TCPSocketWrap', 'TCPServerWrap', 'Timeout'] as const;

function handles(): Record<(typeof KINDS)[number], number> {
  const counts = { TCPSocketWrap: 0, TCPServerWrap: 0, Timeout: 0 };
  for (const kind of process.getActiveResourcesInfo()) if (kind in counts) counts[kind as keyof typeof counts]++;
  return counts;
}

/** Nothing lifeline created is left, and the ref'd handles are back to `before`. */
async function expectNothingLeft(before: ReturnType<typeof handles>, what: string): Promise<void> {
  // Destroy hooks follow close() within milliseconds; 2 s is for a loaded machine, and still shorter
  // than the default connectTimeout (3 s), so a leaked connect timer cannot pass by firing on its own.
  await waitFor(
    () => alive.size === 0 && KINDS.every((kind) => handles()[kind] <= before[kind]),
    () => ({ what, left: [...alive.values()], before, now: handles() }),
    2_000,
  );
  expect([...alive.values()], what).toEqual([]);
  for (const kind of KINDS) expect(handles()[kind], `${what}: ${kind}`).toBeLessThanOrEqual(before[kind]);
}

/** A server that accepts TCP and never answers: a TLS handshake or WebSocket upgrade to it stays pending. */
async function startBlackHole(): Promise<number> {
  const held = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    held.add(socket);
    socket.resume();
    socket.on('close', () => held.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => {
    for (const socket of held) socket.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as net.AddressInfo).port;
}

describe('resource hygiene', () => {
  it('a pool that served requests and timed out acquires leaves nothing after close()', async () => {
    const server = await startHttpServer();
    const before = handles();
    const pool = await ClientPool.connect({ url: server.url, connections: 3, acquireTimeout: 20 });
    // What the check counts: the pool's three sockets are seen while it is open.
    expect([...alive.values()].filter((r) => r.startsWith('TCPWRAP'))).toHaveLength(3);
    await Promise.all([1, 2, 3].map(() => pool.request({ path: '/' })));
    await nextTurn();
    const leases = [pool.tryAcquire()!, pool.tryAcquire()!, pool.tryAcquire()!];
    await expect(pool.acquire()).rejects.toMatchObject({ code: 'ACQUIRE_TIMEOUT' });
    for (const lease of leases) lease.release();
    await pool.close();
    await expectNothingLeft(before, 'closed after use');
  });

  it('an eager pool that failed to connect (refused, or past connectTimeout) leaves nothing', async () => {
    const server = await startHttpServer();
    await server.stop();
    const blackHole = await startBlackHole();
    const before = handles();
    const refused = await ClientPool.connect({ url: server.url, connections: 3 }).catch((e: unknown) => e);
    expect(isLifelineError(refused, 'CONNECT_FAILED')).toBe(true);
    await expectNothingLeft(before, 'refused');
    // TLS to a server that never answers the handshake: the connect timer, not the kernel, ends it.
    const timedOut = await ClientPool.connect({ url: `https://127.0.0.1:${blackHole}`, connections: 2, connectTimeout: 30 }).catch((e: unknown) => e);
    expect(isLifelineError(timedOut, 'CONNECT_FAILED')).toBe(true);
    await expectNothingLeft(before, 'past connectTimeout');
  });

  it('a lazy pool closed while dialing a server that never answers leaves nothing', async () => {
    const blackHole = await startBlackHole();
    const before = handles();
    const pool = await ClientPool.connect({ url: `https://127.0.0.1:${blackHole}`, connections: 2, lazy: true, connectTimeout: 60_000 });
    await waitFor(() => [...alive.values()].filter((r) => r.startsWith('TCPWRAP')).length === 2, () => [...alive.values()]);
    await pool.close();
    await expectNothingLeft(before, 'closed while connecting');
  });

  it('a feed closed live (heartbeat, staleness), while backing off, or while connecting leaves nothing', async () => {
    const venue = await startWsServer();
    const blackHole = await startBlackHole();
    const before = handles();

    const live = openFeed({ url: venue.url, heartbeat: { interval: 1_000, timeout: 500 }, staleAfter: 5_000 });
    await waitForState(live, 'healthy');
    await live.close();
    await expectNothingLeft(before, 'feed closed live');

    const refusedPort = venue.port;
    await venue.stop();
    const backingOff = openFeed({ url: `ws://127.0.0.1:${refusedPort}`, backoff: { initial: 60_000, max: 60_000, jitter: 'none' } });
    await waitForState(backingOff, 'backoff');
    await backingOff.close();
    await expectNothingLeft(before, 'feed closed in backoff');

    const connecting = openFeed({ url: `ws://127.0.0.1:${blackHole}`, connectTimeout: 60_000 });
    await waitFor(() => [...alive.values()].some((r) => r.startsWith('TCPWRAP')), () => [...alive.values()]);
    expect(connecting.state).toBe('connecting');
    await connecting.close();
    await expectNothingLeft(before, 'feed closed while connecting');
  });

  it('a dashboard closed with a stream open leaves nothing (its stats timer included)', async () => {
    const before = handles();
    const dashboard = await serveDashboard({});
    const sse = await SseClient.open(`${dashboard.url}events`);
    await sse.waitFor((e) => e.event === 'stats', 'a stats event');
    await dashboard.close();
    await sse.ended;
    await expectNothingLeft(before, 'dashboard closed');
  });

  it('an acquire leaves no listener on the caller’s AbortSignal once it settles, however it settles', async () => {
    const server = await startHttpServer();
    const pool = await ClientPool.connect({ url: server.url, connections: 1 });
    onTestFinished(() => pool.close());
    const listeners = (signal: AbortSignal) => getEventListeners(signal, 'abort').length;

    const immediate = new AbortController();
    (await pool.acquire({ signal: immediate.signal })).release();
    expect(listeners(immediate.signal)).toBe(0);

    const held = pool.tryAcquire()!;
    const granted = new AbortController();
    const waiting = pool.acquire({ signal: granted.signal, timeout: 10_000 });
    // The listener is there while the caller waits: this is what the other checks count.
    expect(listeners(granted.signal)).toBe(1);
    held.release();
    (await waiting).release();
    expect(listeners(granted.signal)).toBe(0);

    const timedOut = new AbortController();
    const blocker = pool.tryAcquire()!;
    await expect(pool.acquire({ signal: timedOut.signal, timeout: 10 })).rejects.toMatchObject({ code: 'ACQUIRE_TIMEOUT' });
    expect(listeners(timedOut.signal)).toBe(0);

    const aborted = new AbortController();
    const abortedWait = pool.acquire({ signal: aborted.signal, timeout: 10_000 });
    aborted.abort();
    await expect(abortedWait).rejects.toMatchObject({ code: 'ACQUIRE_ABORTED' });
    expect(listeners(aborted.signal)).toBe(0);
    blocker.release();

    const requested = new AbortController();
    expect((await pool.request({ path: '/', signal: requested.signal })).status).toBe(200);
    expect(listeners(requested.signal)).toBe(0);

    const failing = new AbortController();
    server.blackHole();
    await expect(pool.request({ path: '/', signal: failing.signal, headersTimeout: 20 })).rejects.toMatchObject({ code: 'HEADERS_TIMEOUT' });
    expect(listeners(failing.signal)).toBe(0);
    server.heal();

    const closing = new AbortController();
    const last = pool.tryAcquire() ?? (await pool.acquire());
    const closedWait = pool.acquire({ signal: closing.signal, timeout: 10_000 });
    const closed = pool.close();
    await expect(closedWait).rejects.toMatchObject({ code: 'POOL_CLOSED' });
    expect(listeners(closing.signal)).toBe(0);
    last.release();
    await closed;
  });
});
