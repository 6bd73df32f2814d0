/**
 * The memory case's child process (forked with --expose-gc, so each kind is
 * measured in a clean heap): holds `count` idle connections of one kind
 * against the bench server, and reports the heap they take after a forced GC.
 *
 *   node --expose-gc memory-child.js <kind> <port> <count>
 */
import { once } from 'node:events';
import { Pool } from 'undici';
import WebSocket from 'ws';
import { ClientPool, Feed } from '../../src/index.js';
import { sleep, waitUntil } from '../lib/wait.js';

export type Kind = 'lifeline-slots' | 'lifeline-slots-served' | 'undici-connections' | 'lifeline-feeds' | 'ws-clients';

export interface MemoryReport {
  kind: Kind;
  count: number;
  /** heapUsed growth per item, bytes. */
  heap: number;
  /** external (Buffers, undici's WASM parser) growth per item, bytes. */
  external: number;
}

/** Pools are split so no pool exceeds a realistic size; a pool's own overhead is spread over its slots. */
const POOLS = 4;
const CONNECT_TIMEOUT = 10_000;

type Close = () => Promise<void>;

/**
 * `count` pool slots, connected (lifeline dials them all up front); with `served`, each has
 * also served a request, as undici's connections have (undici dials only for a request), and
 * a slot binds its undici Client at its first request: every slot is leased at once, each
 * lease sends one, then all go back.
 */
async function lifelineSlots(port: number, count: number, served: boolean): Promise<Close> {
  const size = count / POOLS;
  const pools = await Promise.all(
    Array.from({ length: POOLS }, () => ClientPool.connect({ url: `http://127.0.0.1:${port}`, connections: size, connectTimeout: CONNECT_TIMEOUT })),
  );
  if (served) {
    await Promise.all(
      pools.map(async (pool) => {
        const leases = await Promise.all(Array.from({ length: size }, () => pool.acquire()));
        await Promise.all(leases.map((lease) => lease.request({ path: '/small' })));
        for (const lease of leases) lease.release();
      }),
    );
  }
  return async () => void (await Promise.all(pools.map((p) => p.close())));
}

/** Opens `count` idle connections of a kind; resolves once all are up, with what closes them. */
const holders: Record<Kind, (port: number, count: number) => Promise<Close>> = {
  'lifeline-slots': (port, count) => lifelineSlots(port, count, false),
  'lifeline-slots-served': (port, count) => lifelineSlots(port, count, true),
  async 'undici-connections'(port, count) {
    const size = count / POOLS;
    const pools = Array.from({ length: POOLS }, () => new Pool(`http://127.0.0.1:${port}`, { connections: size, pipelining: 1 }));
    // undici dials lazily: as many concurrent requests as connections make it open all of them.
    await Promise.all(
      pools.flatMap((pool) => Array.from({ length: size }, async () => (await pool.request({ path: '/small', method: 'GET' })).body.dump())),
    );
    await waitUntil(() => pools.every((p) => p.stats.connected === size), CONNECT_TIMEOUT, 'undici to open every connection');
    return async () => void (await Promise.all(pools.map((p) => p.close())));
  },
  async 'lifeline-feeds'(port, count) {
    const feeds = Array.from({ length: count }, () => Feed.connect({ url: `ws://127.0.0.1:${port}`, connectTimeout: CONNECT_TIMEOUT }));
    await waitUntil(() => feeds.every((f) => f.state === 'healthy'), CONNECT_TIMEOUT, 'every feed to connect');
    return async () => void (await Promise.all(feeds.map((f) => f.close())));
  },
  async 'ws-clients'(port, count) {
    const sockets = Array.from({ length: count }, () => new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false }));
    await Promise.all(sockets.map((s) => once(s, 'open')));
    return async () => {
      await Promise.all(
        sockets.map((s) => {
          const closed = once(s, 'close');
          s.close();
          return closed;
        }),
      );
    };
  },
};

/** Memory after full collections; the pauses let weak callbacks and finalizers run between them. */
async function settledMemory(): Promise<NodeJS.MemoryUsage> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('bench: the memory child needs node --expose-gc');
  for (let i = 0; i < 4; i++) {
    gc();
    await sleep(10);
  }
  return process.memoryUsage();
}

const [kind, port, count] = [process.argv[2] as Kind, Number(process.argv[3]), Number(process.argv[4])];
// A small warm-up set first: code and lazily built structures must not count as the items' heap.
await (await holders[kind](port, 4 * POOLS))();
const before = await settledMemory();
const close = await holders[kind](port, count);
const after = await settledMemory();
await close();
const report: MemoryReport = {
  kind,
  count,
  heap: (after.heapUsed - before.heapUsed) / count,
  external: (after.external - before.external) / count,
};
process.send!(report);
process.disconnect();
