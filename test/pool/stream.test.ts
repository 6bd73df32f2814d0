/**
 * Responses read as a stream through lifeline's own API (`lease.stream`, `pool.stream`; issue
 * 16, item 2): a 1+ MiB body arrives whole, a reader that waits pauses the server's writes
 * (backpressure), `maxBodySize` and `bodyTimeout` still hold mid-stream, a gzip body is decoded
 * as it comes, and a stream the caller abandons (destroyed, its lease released, left unread)
 * gives its slot back, its connection retired as a clean end: no failure, no backoff, the
 * server sees the socket closed. Real servers on loopback.
 */
import { once } from 'node:events';
import type http from 'node:http';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isLifelineError, type ClientPool, type ResponseBody } from '../../src/index.js';
import { startHttpServer } from '../helpers/http-server.js';
import { isFull, openPool, waitFor, waitForStats } from '../helpers/pool.js';

const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** A body of `size` bytes that differ from chunk to chunk, so a lost or repeated chunk shows. */
function patterned(size: number): Buffer {
  const body = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4) body.writeUInt32BE(i / 4, i);
  return body;
}

/** Writes `body` in 64 KiB chunks, honouring the socket's backpressure, and counts what the socket took. */
function writeHonouring(res: http.ServerResponse, body: Buffer, progress: { written: number }): void {
  let offset = 0;
  const next = () => {
    while (offset < body.length) {
      const chunk = body.subarray(offset, offset + CHUNK);
      offset += chunk.length;
      progress.written = offset;
      if (!res.write(chunk)) {
        res.once('drain', next);
        return;
      }
    }
    res.end();
  };
  next();
}

/** A server that streams `body` (to any path but `/small`), and notes each socket that served it closing. */
async function streaming(body: Buffer, headers: http.OutgoingHttpHeaders = {}) {
  const progress = { written: 0, closedSockets: 0 };
  const server = await startHttpServer((req, res) => {
    if (req.url === '/small') return void res.end('ok');
    req.socket.once('close', () => progress.closedSockets++);
    res.writeHead(200, { 'content-type': 'application/octet-stream', ...headers });
    writeHonouring(res, body, progress);
  });
  return { server, progress };
}

async function readAll(body: ResponseBody): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function errorOf(body: ResponseBody): Promise<unknown> {
  try {
    await readAll(body);
  } catch (error) {
    return error;
  }
  throw new Error('the body ended without an error');
}

/** No failure, no backoff: the abandoned connection ended cleanly and every slot is free again. */
async function expectCleanRecovery(pool: ClientPool): Promise<void> {
  await waitForStats(pool, isFull);
  const { failures, backoffs } = pool.stats();
  expect({ failures, backoffs }).toEqual({ failures: 0, backoffs: 0 });
}

describe('lease.stream', () => {
  it('a 4 MiB body arrives whole, chunk by chunk, and the lease serves again after it', async () => {
    const body = patterned(4 * MiB);
    const { server } = await streaming(body, { 'x-kind': 'bulk' });
    const pool = await openPool({ url: server.url, connections: 1, maxBodySize: 0 });
    const lease = await pool.acquire();
    const res = await lease.stream({ path: '/bulk' });
    expect(res.status).toBe(200);
    expect(res.ok).toBe(true);
    expect(res.headers['x-kind']).toBe('bulk');
    let reads = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of res.body) {
      chunks.push(chunk as Buffer);
      reads++;
    }
    expect(sha(Buffer.concat(chunks))).toBe(sha(body));
    expect(reads).toBeGreaterThan(1);
    // The request is over once its body is: the same lease sends the next one.
    expect((await lease.request({ path: '/again' })).body.length).toBe(body.length);
    lease.release();
    await waitForStats(pool, isFull);
  });

  it('a reader that waits pauses the server (backpressure), and a slow reader is not cut by bodyTimeout', async () => {
    const body = patterned(64 * MiB);
    const { server, progress } = await streaming(body);
    // bodyTimeout far below the reader's waits: undici holds it while the socket is paused for the reader.
    const pool = await openPool({ url: server.url, connections: 1, bodyTimeout: 150, maxBodySize: 0 });
    const lease = await pool.acquire();
    const res = await lease.stream({ path: '/big' });
    const reader = res.body[Symbol.asyncIterator]();
    let received = ((await reader.next()).value as Buffer).length;
    // The reader waits: the socket buffers fill, then the server's writes stop.
    await sleep(400);
    const stalledAt = progress.written;
    await sleep(400);
    expect(progress.written).toBe(stalledAt);
    expect(stalledAt).toBeLessThan(body.length / 2);
    // Read on, waiting between reads past bodyTimeout now and then: the body still arrives whole.
    for (let n = 0; ; n++) {
      const next = await reader.next();
      if (next.done) break;
      received += (next.value as Buffer).length;
      if (n % 400 === 0) await sleep(200);
    }
    expect(received).toBe(body.length);
    lease.release();
    await expectCleanRecovery(pool);
  }, 30_000);

  it('maxBodySize holds mid-stream: the body fails with BODY_TOO_LARGE after the bytes under the limit', async () => {
    const { server, progress } = await streaming(patterned(4 * MiB));
    const pool = await openPool({ url: server.url, connections: 1, maxBodySize: MiB });
    const lease = await pool.acquire();
    const res = await lease.stream({ path: '/big' });
    let received = 0;
    const error = await (async () => {
      try {
        for await (const chunk of res.body) received += (chunk as Buffer).length;
      } catch (caught) {
        return caught;
      }
    })();
    expect(isLifelineError(error, 'BODY_TOO_LARGE')).toBe(true);
    expect((error as { delivery?: string }).delivery).toBe('partial');
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThanOrEqual(MiB);
    lease.release();
    await waitFor(() => progress.closedSockets === 1, () => progress);
    await expectCleanRecovery(pool);
  });

  it('a declared body over maxBodySize is refused at the head: the stream promise rejects', async () => {
    const server = await startHttpServer((_req, res) => res.end(Buffer.alloc(2 * MiB)));
    const pool = await openPool({ url: server.url, connections: 1, maxBodySize: MiB });
    const error = await pool.stream({ path: '/big' }).catch((caught: unknown) => caught);
    expect(isLifelineError(error, 'BODY_TOO_LARGE')).toBe(true);
    await expectCleanRecovery(pool);
  });

  it('bodyTimeout holds on a stalled body: the body fails with BODY_TIMEOUT and the slot heals', async () => {
    const server = await startHttpServer((_req, res) => {
      res.writeHead(200, { 'content-length': String(MiB) });
      res.write(Buffer.alloc(CHUNK)); // then nothing
    });
    const pool = await openPool({ url: server.url, connections: 1, bodyTimeout: 200 });
    const res = await pool.stream({ path: '/stall' });
    const error = await errorOf(res.body);
    expect(isLifelineError(error, 'BODY_TIMEOUT')).toBe(true);
    await waitForStats(pool, isFull);
  });

  it('a body destroyed mid-way frees the lease for its next request, its connection retired cleanly', async () => {
    const { server, progress } = await streaming(patterned(32 * MiB));
    const pool = await openPool({ url: server.url, connections: 1 });
    const lease = await pool.acquire();
    const res = await lease.stream({ path: '/big', maxBodySize: 0 });
    const reader = res.body[Symbol.asyncIterator]();
    await reader.next();
    res.body.destroy();
    await waitFor(() => progress.closedSockets === 1, () => progress);
    // The request is over: the lease is not busy, its connection is gone (never sent on it).
    const error: unknown = await lease.request({ path: '/next' }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'CONNECTION_LOST', delivery: 'unsent' });
    lease.release();
    await expectCleanRecovery(pool);
    expect((await pool.request({ path: '/small' })).text()).toBe('ok');
  });

  it('a lease released mid-body fails the body with LEASE_RELEASED and its slot comes back', async () => {
    const { server, progress } = await streaming(patterned(32 * MiB));
    const pool = await openPool({ url: server.url, connections: 2 });
    const lease = await pool.acquire();
    const res = await lease.stream({ path: '/big', maxBodySize: 0 });
    const failed = errorOf(res.body);
    await once(res.body, 'readable');
    lease.release();
    expect(isLifelineError(await failed, 'LEASE_RELEASED')).toBe(true);
    await waitFor(() => progress.closedSockets === 1, () => progress);
    await expectCleanRecovery(pool);
  });

  it('a gzip body is decoded as it streams: 2 MiB whole, without its content-encoding', async () => {
    const text = Buffer.from('{"symbol":"BTCUSDT","price":"97000.10"}\n'.repeat((2 * MiB) / 40));
    const { server } = await streaming(gzipSync(text), { 'content-encoding': 'gzip' });
    const pool = await openPool({ url: server.url, connections: 1 });
    const res = await pool.stream({ path: '/trades', maxBodySize: 4 * MiB });
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(sha(await readAll(res.body))).toBe(sha(text));
    await waitForStats(pool, isFull);
  });

  it('a HEAD or a 204 keeps its content-encoding and content-length: there is no body to decode', async () => {
    const server = await startHttpServer((req, res) => {
      // A HEAD's content-length is the GET's body's; a 204 has none.
      res.writeHead(req.url === '/none' ? 204 : 200, { 'content-encoding': 'gzip', ...(req.method === 'HEAD' ? { 'content-length': '1234' } : {}) });
      res.end();
    });
    const pool = await openPool({ url: server.url, connections: 1 });
    const head = await pool.stream({ method: 'HEAD', path: '/file' });
    expect(head.headers).toMatchObject({ 'content-encoding': 'gzip', 'content-length': '1234' });
    expect((await readAll(head.body)).length).toBe(0);
    const none = await pool.stream({ path: '/none' });
    expect(none.status).toBe(204);
    expect(none.headers['content-encoding']).toBe('gzip');
    expect((await readAll(none.body)).length).toBe(0);
    await waitForStats(pool, isFull);
  });

  it('a streamed zip bomb stops at maxBodySize of decoded bytes', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * MiB));
    const { server } = await streaming(bomb, { 'content-encoding': 'gzip' });
    const pool = await openPool({ url: server.url, connections: 1, maxBodySize: MiB });
    const res = await pool.stream({ path: '/bomb' });
    expect(isLifelineError(await errorOf(res.body), 'BODY_TOO_LARGE')).toBe(true);
    await expectCleanRecovery(pool);
  });
});

describe('pool.stream', () => {
  it('releases its lease once the body is read to its end', async () => {
    const body = patterned(2 * MiB);
    const { server } = await streaming(body);
    const pool = await openPool({ url: server.url, connections: 1 });
    const res = await pool.stream({ path: '/bulk', maxBodySize: 0 });
    expect(pool.stats().busy).toBe(1);
    expect(sha(await readAll(res.body))).toBe(sha(body));
    await waitForStats(pool, isFull);
  });

  it('releases its lease when the body is destroyed mid-way: the connection is retired, not failed', async () => {
    const { server, progress } = await streaming(patterned(32 * MiB));
    const pool = await openPool({ url: server.url, connections: 2 });
    const res = await pool.stream({ path: '/big', maxBodySize: 0 });
    await once(res.body, 'readable');
    res.body.destroy();
    await waitFor(() => progress.closedSockets === 1, () => progress);
    await expectCleanRecovery(pool);
  });

  it('a for await left with break abandons the body: the slot comes back, its connection retired cleanly', async () => {
    const { server, progress } = await streaming(patterned(32 * MiB));
    const pool = await openPool({ url: server.url, connections: 1 });
    const res = await pool.stream({ path: '/big', maxBodySize: 0 });
    let received = 0;
    for await (const chunk of res.body) {
      received += (chunk as Buffer).length;
      if (received >= MiB) break;
    }
    await waitFor(() => progress.closedSockets === 1, () => progress);
    await expectCleanRecovery(pool);
  });

  it('a reader that stops reading is abandoned after readTimeout (READ_TIMEOUT): the slot comes back', async () => {
    const { server, progress } = await streaming(patterned(32 * MiB));
    const pool = await openPool({ url: server.url, connections: 1 });
    const res = await pool.stream({ path: '/big', readTimeout: 200, maxBodySize: 0 });
    await once(res.body, 'readable'); // ...and never reads
    await waitFor(() => progress.closedSockets === 1, () => progress);
    await expectCleanRecovery(pool);
    expect(isLifelineError(res.body.errored, 'READ_TIMEOUT')).toBe(true);
  });
});
