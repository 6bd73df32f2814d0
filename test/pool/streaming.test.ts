/**
 * Streamed bodies both ways through `pool.dispatcher` (undici's own request
 * API over the pool's slots): request bodies from a Readable, an async iterable
 * and a web ReadableStream arrive whole; one whose connection dies after its
 * bytes went out is never sent again; a streamed response is read chunk by
 * chunk. Then streamed request bodies through lifeline's own `lease.request` and
 * `pool.request`, with the same guarantees (responses streamed through lifeline's
 * own API: stream.test.ts). Real servers on loopback.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { startHttpServer } from '../helpers/http-server.js';
import { isLifelineError } from '../../src/index.js';
import { isFull, nextTurn, openPool, waitForStats } from '../helpers/pool.js';

const CHUNK = Buffer.alloc(16 * 1024, 'a');
const CHUNKS = 64; // 1 MiB
const digest = (chunks: Buffer[]) => chunks.reduce((hash, chunk) => hash.update(chunk), createHash('sha256')).digest('hex');
const expected = digest(Array.from({ length: CHUNKS }, () => CHUNK));

/** A server that answers each request with the byte count and digest of the body it read. */
const hashing = () =>
  startHttpServer((req, res) => {
    const hash = createHash('sha256');
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      hash.update(chunk);
    });
    req.on('end', () => res.end(`${bytes} ${hash.digest('hex')}`));
  });

async function* chunks(): AsyncGenerator<Buffer> {
  for (let i = 0; i < CHUNKS; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    yield CHUNK;
  }
}

const bodies = {
  'a Readable': () => Readable.from(chunks()),
  'an async iterable': () => chunks(),
  'a web ReadableStream': () => Readable.toWeb(Readable.from(chunks())) as ReadableStream<Uint8Array>,
};

/** A server that answers GETs, and dies on the first bytes of any other request's body; `started` counts those requests. */
async function dyingOnBody() {
  const seen = { started: 0 };
  const server = await startHttpServer((req, res) => {
    if (req.method === 'GET') return void res.end('ok');
    seen.started++;
    // The server reads the first bytes and dies: the body was on its way.
    req.once('data', () => req.socket.destroy());
  });
  return { server, seen };
}

describe('streamed bodies through pool.dispatcher', () => {
  for (const [kind, body] of Object.entries(bodies)) {
    it(`a request body from ${kind} arrives whole (1 MiB in 64 chunks)`, async () => {
      const server = await hashing();
      const pool = await openPool({ url: server.url, connections: 2 });
      const res = await request(`${server.url}/upload`, { method: 'PUT', body: body() as never, dispatcher: pool.dispatcher });
      expect(await res.body.text()).toBe(`${CHUNK.length * CHUNKS} ${expected}`);
      await waitForStats(pool, isFull);
    });
  }

  it('a streamed body whose connection dies after its bytes went out is not sent again, even for a PUT', async () => {
    const { server, seen } = await dyingOnBody();
    const pool = await openPool({ url: server.url, connections: 1 });
    // The connection serves once first: a death on it is then the stale race, which a replay covers for a replayable body.
    expect(await (await request(`${server.url}/`, { dispatcher: pool.dispatcher })).body.text()).toBe('ok');
    const error: unknown = await request(`${server.url}/upload`, { method: 'PUT', body: Readable.from(chunks()), dispatcher: pool.dispatcher }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ code: 'CONNECTION_LOST' });
    expect(seen.started).toBe(1);
    await waitForStats(pool, isFull);
  });

  it('a streamed 1 MiB response is read chunk by chunk as it arrives, and the slot comes back', async () => {
    const body = Buffer.alloc(CHUNK.length * CHUNKS, 'b');
    const server = await startHttpServer((_req, res) => res.end(body));
    const pool = await openPool({ url: server.url, connections: 1 });
    const res = await request(`${server.url}/mib`, { dispatcher: pool.dispatcher });
    let bytes = 0;
    let reads = 0;
    for await (const chunk of res.body) {
      bytes += (chunk as Buffer).length;
      reads++;
    }
    expect(bytes).toBe(body.length);
    expect(reads).toBeGreaterThan(1);
    await waitForStats(pool, isFull);
  });
});

describe('streamed request bodies through lease.request and pool.request', () => {
  const whole = `${CHUNK.length * CHUNKS} ${expected}`;
  for (const [kind, body] of Object.entries(bodies)) {
    it(`a body from ${kind} arrives whole (1 MiB in 64 chunks), by lease.request and by pool.request`, async () => {
      const server = await hashing();
      const pool = await openPool({ url: server.url, connections: 1 });
      const lease = await pool.acquire();
      expect((await lease.request({ method: 'PUT', path: '/upload', body: body() })).text()).toBe(whole);
      lease.release();
      await nextTurn();
      expect((await pool.request({ method: 'POST', path: '/upload', body: body() })).text()).toBe(whole);
      await waitForStats(pool, isFull);
    });
  }

  it('a streamed PUT whose connection dies after its bytes went out is not sent again, even idempotent with retry: 2', async () => {
    const { server, seen } = await dyingOnBody();
    const pool = await openPool({ url: server.url, connections: 1 });
    // The connection serves once first: a death on it is then the stale race, which a replay covers for a replayable body.
    expect((await pool.request({ path: '/' })).text()).toBe('ok');
    await nextTurn();
    const error: unknown = await pool
      .request({ method: 'PUT', path: '/upload', body: Readable.from(chunks()), idempotent: true, retry: 2 })
      .catch((caught: unknown) => caught);
    expect(isLifelineError(error, 'CONNECTION_LOST')).toBe(true);
    expect((error as { delivery?: string }).delivery).not.toBe('unsent');
    expect(seen.started).toBe(1);
    expect(pool.stats()).toMatchObject({ resends: 0, replays: 0 });
    await waitForStats(pool, isFull);
  });

  it('a body of another kind is INVALID_REQUEST, naming what is accepted', async () => {
    const server = await hashing();
    const pool = await openPool({ url: server.url, connections: 1 });
    const error: unknown = await pool.request({ method: 'POST', path: '/', body: 42 as never }).catch((caught: unknown) => caught);
    expect(isLifelineError(error, 'INVALID_REQUEST')).toBe(true);
    expect((error as Error).message).toBe(
      'Expected `body` to be a string, a Buffer, a Uint8Array, a Readable, a web ReadableStream or an async iterable, got 42 (number)',
    );
  });
});
