/**
 * Streamed bodies both ways through `pool.dispatcher` (undici's own request
 * API over the pool's slots): request bodies from a Readable, an async iterable
 * and a web ReadableStream arrive whole; one whose connection dies after its
 * bytes went out is never sent again; a streamed response is read chunk by
 * chunk. Real servers on loopback.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { startHttpServer } from '../helpers/http-server.js';
import { isFull, openPool, waitForStats } from '../helpers/pool.js';

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

describe('streamed bodies through pool.dispatcher', () => {
  const bodies = {
    'a Readable': () => Readable.from(chunks()),
    'an async iterable': () => chunks(),
    'a web ReadableStream': () => Readable.toWeb(Readable.from(chunks())),
  };
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
    let started = 0;
    const server = await startHttpServer((req, res) => {
      if (req.method === 'GET') return void res.end('ok');
      started++;
      // The server reads the first bytes and dies: the body was on its way.
      req.once('data', () => req.socket.destroy());
    });
    const pool = await openPool({ url: server.url, connections: 1 });
    // The connection serves once first: a death on it is then the stale race, which a replay covers for a replayable body.
    expect(await (await request(`${server.url}/`, { dispatcher: pool.dispatcher })).body.text()).toBe('ok');
    const error: unknown = await request(`${server.url}/upload`, { method: 'PUT', body: Readable.from(chunks()), dispatcher: pool.dispatcher }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ code: 'CONNECTION_LOST' });
    expect(started).toBe(1);
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
