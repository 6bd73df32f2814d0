/**
 * Case: fetch through the pool's dispatcher (issue 16, item 1). Node's own fetch (Node 20 bundles
 * undici 6) with `dispatcher: pool.dispatcher` against the same fetch with an undici Pool of as many
 * connections, side by side in this one process; then `undici.request` through each, where the
 * dispatcher's own cost is not hidden behind fetch's. Small bodies (~100 B), 4 connections, 16 callers.
 * Last, a 1 MiB response read as a stream, chunk by chunk: `undici.request`'s body through each, and
 * through lifeline's own streaming API (`lease.stream`, `pool.stream`; issue 16, item 2).
 */
import { Pool, request } from 'undici';
import { ClientPool } from '../../src/index.js';
import type { BenchCase, CaseContext } from '../lib/case.js';
import { ratioOf } from '../lib/compare.js';
import { runLoad } from '../lib/load.js';
import { recordLoadTable } from '../lib/load-table.js';
import { alternate } from '../lib/rounds.js';

const PATH = '/small';
const CONNECTIONS = 4;
const CALLERS = 16;

const FETCH_REFERENCE = 'fetch, undici Pool';
const FETCH_LIFELINE = 'fetch, lifeline pool.dispatcher';
const REQUEST_REFERENCE = 'undici.request, undici Pool';
const REQUEST_LIFELINE = 'undici.request, lifeline pool.dispatcher';
const STREAM_REFERENCE = 'streamed body, undici Pool';
const STREAM_LIFELINE = 'streamed body, lifeline pool.dispatcher';
const LEASE_STREAM = 'streamed body, lifeline lease.stream';
const POOL_STREAM = 'streamed body, lifeline pool.stream';

interface Contender {
  name: string;
  send(): Promise<unknown>;
}

/** Node's fetch accepts an undici dispatcher; its RequestInit type does not declare one. */
function fetchThrough(url: string, dispatcher: unknown): () => Promise<unknown> {
  const init = { dispatcher } as unknown as RequestInit;
  return async () => (await fetch(url, init)).arrayBuffer();
}

function requestThrough(url: string, dispatcher: Pool | ClientPool['dispatcher']): () => Promise<unknown> {
  return async () => (await request(url, { dispatcher })).body.arrayBuffer();
}

/** A response body consumed as it streams in, never collected. */
function streamThrough(url: string, dispatcher: Pool | ClientPool['dispatcher']): () => Promise<unknown> {
  return async () => drain((await request(url, { dispatcher })).body);
}

/** Bytes of a body read as it streams in. */
async function drain(body: AsyncIterable<unknown>): Promise<number> {
  let bytes = 0;
  for await (const chunk of body) bytes += (chunk as Buffer).length;
  return bytes;
}

/** lifeline's own streaming API: a lease (at once if one is free), `lease.stream`, the body read, the lease released. */
function leaseStream(pool: ClientPool, path: string): () => Promise<unknown> {
  return async () => {
    const lease = pool.tryAcquire() ?? (await pool.acquire());
    try {
      return await drain((await lease.stream({ path, maxBodySize: 0 })).body);
    } finally {
      lease.release();
    }
  };
}

/** `pool.stream`: acquire, stream, and the lease released by the pool once the body is read. */
function poolStream(pool: ClientPool, path: string): () => Promise<unknown> {
  return async () => drain((await pool.stream({ path, maxBodySize: 0 })).body);
}

/** Each contender's code paths optimized before its first round (as the http case): one short round in a quick run. */
const JIT_WARMUP_MS = 500;

/**
 * fetch serves a few thousand requests a second here, a few hundred per HTTP round: its rounds are
 * this many times longer, or one busy moment of a shared machine decides a round.
 */
const FETCH_ROUND_FACTOR = 3;

/** A 1 MiB response takes tens of ms here: rounds this many times longer hold more than a handful of them. */
const STREAM_ROUND_FACTOR = 5;

async function measure(
  context: CaseContext,
  title: string,
  contenders: Contender[],
  reference: string,
  lifelines: string[],
  roundMs: number,
  size = 'small',
): Promise<void> {
  const { settings } = context;
  for (const contender of contenders) await runLoad(contender.send, CALLERS, settings.quick ? roundMs : JIT_WARMUP_MS);
  const rounds = await alternate(contenders, settings.rounds, (contender) => runLoad(contender.send, CALLERS, roundMs));
  const { compared, medianOf } = recordLoadTable(context, title, rounds, reference);
  for (const lifeline of lifelines) {
    const ratio = ratioOf(compared, lifeline);
    context.target({
      name: `${lifeline} vs ${reference}, ${size}, ${CONNECTIONS} conn, ${CALLERS} callers`,
      goal: '>= 0.90x req/s',
      measured: `${ratio.toFixed(2)}x req/s, p99 ${(medianOf(lifeline, 'p99') / medianOf(reference, 'p99')).toFixed(2)}x`,
      pass: ratio >= 0.9,
    });
  }
}

export const fetchCase: BenchCase = {
  name: 'fetch',
  title: "fetch and undici.request through the pool's dispatcher",
  async run(context) {
    const { origin } = context.server;
    const url = `${origin}${PATH}`;
    // A wait for a connection is part of the latency measured, never a failure: no acquire deadline.
    const pool = await ClientPool.connect({ url: origin, connections: CONNECTIONS, acquireTimeout: 60_000 });
    const undiciPool = new Pool(origin, { connections: CONNECTIONS, pipelining: 1 });
    try {
      await measure(
        context,
        `Node's fetch, small body (~100 B), ${CONNECTIONS} connections, ${CALLERS} concurrent callers`,
        [
          { name: FETCH_REFERENCE, send: fetchThrough(url, undiciPool) },
          { name: FETCH_LIFELINE, send: fetchThrough(url, pool.dispatcher) },
        ],
        FETCH_REFERENCE,
        [FETCH_LIFELINE],
        context.settings.httpRoundMs * FETCH_ROUND_FACTOR,
      );
      await measure(
        context,
        `undici.request, small body (~100 B), ${CONNECTIONS} connections, ${CALLERS} concurrent callers`,
        [
          { name: REQUEST_REFERENCE, send: requestThrough(url, undiciPool) },
          { name: REQUEST_LIFELINE, send: requestThrough(url, pool.dispatcher) },
        ],
        REQUEST_REFERENCE,
        [REQUEST_LIFELINE],
        context.settings.httpRoundMs,
      );
      const mib = `${origin}/mib`;
      await measure(
        context,
        `a 1 MiB body read as a stream (undici.request().body through each dispatcher; lifeline's own lease.stream and pool.stream), ${CONNECTIONS} connections, ${CALLERS} concurrent callers`,
        [
          { name: STREAM_REFERENCE, send: streamThrough(mib, undiciPool) },
          { name: STREAM_LIFELINE, send: streamThrough(mib, pool.dispatcher) },
          { name: LEASE_STREAM, send: leaseStream(pool, '/mib') },
          { name: POOL_STREAM, send: poolStream(pool, '/mib') },
        ],
        STREAM_REFERENCE,
        [STREAM_LIFELINE, LEASE_STREAM, POOL_STREAM],
        context.settings.httpRoundMs * STREAM_ROUND_FACTOR,
        'streamed 1 MiB',
      );
    } finally {
      await pool.close();
      await undiciPool.close();
    }
  },
};
