/**
 * Decompression (issue 16, item 3) against a real node:http server on 127.0.0.1: what is
 * asked for, gzip, deflate (zlib-wrapped and raw) and br decoded, `maxBodySize` applied to
 * the decoded size (a zip bomb is stopped while it is still arriving), a corrupt or
 * truncated body coded BODY_DECODE_FAILED, and the pool whole after each.
 */
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DEFAULT_DECOMPRESS, POOL_DEFAULTS } from '../../src/index.js';
import { rejection } from '../helpers/errors.js';
import { startHttpServer } from '../helpers/http-server.js';
import { isFull, openPool, waitFor, waitForStats } from '../helpers/pool.js';

const JSON_BODY = JSON.stringify({ symbol: 'BTCUSDT', bids: Array.from({ length: 200 }, (_, i) => [String(50_000 - i), '0.5']) });

const ENCODERS: Record<string, (body: Buffer) => Buffer> = {
  gzip: (body) => zlib.gzipSync(body),
  'x-gzip': (body) => zlib.gzipSync(body),
  deflate: (body) => zlib.deflateSync(body),
  'deflate-raw': (body) => zlib.deflateRawSync(body),
  br: (body) => zlib.brotliCompressSync(body),
};

/**
 * Answers `/<coding>` with JSON_BODY encoded so (`deflate-raw` is sent as `deflate`, as some
 * servers do), `/plain` as it is; records each request's accept-encoding.
 */
async function encodingServer() {
  const asked: (string | undefined)[] = [];
  const server = await startHttpServer((req, res) => {
    asked.push(req.headers['accept-encoding']);
    const coding = req.url!.slice(1);
    const encode = ENCODERS[coding];
    res.setHeader('content-type', 'application/json');
    if (!encode) return void res.end(JSON_BODY);
    const body = encode(Buffer.from(JSON_BODY));
    res.setHeader('content-encoding', coding === 'deflate-raw' ? 'deflate' : coding);
    res.setHeader('content-length', body.length);
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  return { server, asked };
}

describe('decompress', () => {
  it('is on by default: asks for gzip, deflate and br, and decodes each (deflate raw or wrapped)', async () => {
    expect(DEFAULT_DECOMPRESS).toBe(true);
    expect(POOL_DEFAULTS.decompress).toBe(true);
    const { server, asked } = await encodingServer();
    const pool = await openPool({ url: server.url, connections: 1 });
    for (const coding of Object.keys(ENCODERS)) {
      const res = await pool.request({ path: `/${coding}` });
      expect(res.text(), coding).toBe(JSON_BODY);
      expect(res.json<{ symbol: string }>().symbol, coding).toBe('BTCUSDT');
      // The decoded body's length is not the one the server declared: both headers go, as in Go's net/http.
      expect(res.headers['content-encoding'], coding).toBeUndefined();
      expect(res.headers['content-length'], coding).toBeUndefined();
      expect(res.headers['content-type'], coding).toBe('application/json');
    }
    expect(asked).toEqual(Object.keys(ENCODERS).map(() => 'gzip, deflate, br'));
    // One connection served them all: a decoded response leaves the connection reusable.
    expect(server.connections).toBe(1);
  });

  it("a request's own accept-encoding is sent as it is, and what comes is still decoded", async () => {
    const { server, asked } = await encodingServer();
    const pool = await openPool({ url: server.url, connections: 1, headers: { 'accept-encoding': 'br' } });
    expect((await pool.request({ path: '/br' })).text()).toBe(JSON_BODY);
    expect((await pool.request({ path: '/gzip', headers: { 'Accept-Encoding': 'gzip;q=1, identity;q=0.5' } })).text()).toBe(JSON_BODY);
    expect(asked).toEqual(['br', 'gzip;q=1, identity;q=0.5']);
  });

  it('decompress: false asks for nothing and hands over the bytes and headers as they came; per request it wins over the pool', async () => {
    const { server, asked } = await encodingServer();
    const pool = await openPool({ url: server.url, connections: 1, decompress: false });
    const raw = await pool.request({ path: '/gzip' });
    expect(raw.headers['content-encoding']).toBe('gzip');
    expect(Number(raw.headers['content-length'])).toBe(raw.body.length);
    expect(zlib.gunzipSync(raw.body).toString()).toBe(JSON_BODY);
    expect((await pool.request({ path: '/gzip', decompress: true })).text()).toBe(JSON_BODY);
    const lease = await pool.acquire();
    try {
      expect((await lease.request({ path: '/br', decompress: true })).text()).toBe(JSON_BODY);
    } finally {
      lease.release();
    }
    expect(asked).toEqual([undefined, 'gzip, deflate, br', 'gzip, deflate, br']);

    const decoding = await openPool({ url: server.url, connections: 1 });
    expect((await decoding.request({ path: '/deflate', decompress: false })).headers['content-encoding']).toBe('deflate');
    expect(asked.at(-1)).toBeUndefined();
  });

  it('an empty body (HEAD), an unknown coding or two codings are left as they came, headers and all', async () => {
    const server = await startHttpServer((req, res) => {
      if (req.url === '/zstd') res.setHeader('content-encoding', 'zstd');
      else if (req.url === '/twice') res.setHeader('content-encoding', 'gzip, gzip');
      else res.setHeader('content-encoding', 'gzip');
      const body = req.url === '/twice' ? zlib.gzipSync(zlib.gzipSync('hi')) : req.url === '/zstd' ? Buffer.from('not zstd') : zlib.gzipSync('hi');
      res.setHeader('content-length', body.length);
      res.end(req.method === 'HEAD' ? undefined : body);
    });
    const pool = await openPool({ url: server.url, connections: 1 });
    const head = await pool.request({ method: 'HEAD', path: '/gzip' });
    expect(head.body.length).toBe(0);
    expect(head.headers).toMatchObject({ 'content-encoding': 'gzip', 'content-length': String(zlib.gzipSync('hi').length) });
    const zstd = await pool.request({ path: '/zstd' });
    expect([zstd.text(), zstd.headers['content-encoding']]).toEqual(['not zstd', 'zstd']);
    const twice = await pool.request({ path: '/twice' });
    expect(zlib.gunzipSync(zlib.gunzipSync(twice.body)).toString()).toBe('hi');
  });

  it('maxBodySize bounds the decoded size: a body decoding to exactly the limit passes, one byte more is BODY_TOO_LARGE', async () => {
    const limit = 64 * 1024;
    const server = await startHttpServer((req, res) => {
      res.setHeader('content-encoding', 'gzip');
      res.end(zlib.gzipSync(Buffer.alloc(req.url === '/fits' ? limit : limit + 1, 'a')));
    });
    const pool = await openPool({ url: server.url, connections: 1, maxBodySize: limit });
    expect((await pool.request({ path: '/fits' })).body.length).toBe(limit);
    const error = await rejection(pool.request({ path: '/over' }));
    expect([error.code, error.message, error.delivery]).toEqual(['BODY_TOO_LARGE', `the decoded response body exceeded maxBodySize (${limit} bytes)`, 'partial']);
    await waitForStats(pool, isFull);
  });

  it('a zip bomb (10 MiB of zeros, 10 KiB gzipped) is BODY_TOO_LARGE while it still arrives, and the connection is recycled', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(10 << 20));
    expect(bomb.length).toBeLessThan(16 * 1024);
    let closedEarly = 0;
    const server = await startHttpServer((req, res) => {
      res.setHeader('content-encoding', 'gzip');
      if (req.url === '/whole') return void res.end(bomb);
      // Half of it, then nothing: the response never ends. Only a decoder that counts as it
      // inflates (not one that waits for the whole body) can answer before bodyTimeout.
      res.write(bomb.subarray(0, bomb.length >> 1));
      res.on('close', () => {
        if (!res.writableEnded) closedEarly++;
      });
    });
    const pool = await openPool({ url: server.url, connections: 1, maxBodySize: 1 << 20 });
    for (const path of ['/whole', '/trickle']) {
      const error = await rejection(pool.request({ path }));
      expect([error.code, error.message], path).toEqual(['BODY_TOO_LARGE', 'the decoded response body exceeded maxBodySize (1048576 bytes)']);
      await waitForStats(pool, isFull);
    }
    // The lease abandoned the unfinished response: its socket was closed under it.
    await waitFor(() => closedEarly === 1, () => closedEarly);
    // Each too-large body retired its connection: two replacements were dialed.
    await waitFor(() => server.connections === 3, () => server.connections);
    expect(pool.stats()).toMatchObject({ failures: 0, busy: 0 });
  });

  it('a corrupt or truncated compressed body is BODY_DECODE_FAILED with the zlib error as cause; the connection is retired, not failed', async () => {
    const good = zlib.gzipSync(JSON_BODY);
    const bodies: Record<string, [string, Buffer]> = {
      '/garbage': ['gzip', Buffer.from('this is not gzip at all')],
      '/truncated': ['gzip', good.subarray(0, good.length - 12)],
      '/flipped': ['gzip', Buffer.concat([good.subarray(0, 40), Buffer.from([good[40]! ^ 0xff]), good.subarray(41)])],
      '/br': ['br', Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00, 0x01])],
      '/deflate': ['deflate', Buffer.from([0x78, 0x9c, 0xff, 0xff, 0xff])],
    };
    const server = await startHttpServer((req, res) => {
      const [coding, body] = bodies[req.url!]!;
      res.setHeader('content-encoding', coding);
      res.end(body);
    });
    const pool = await openPool({ url: server.url, connections: 1 });
    for (const path of Object.keys(bodies)) {
      const error = await rejection(pool.request({ path }));
      expect(error.code, path).toBe('BODY_DECODE_FAILED');
      expect(error.message, path).toMatch(new RegExp(`^the ${bodies[path]![0]} response body could not be decoded: `));
      expect((error.cause as { code?: string }).code, path).toMatch(/^Z_|^ERR_/);
      expect(error.delivery, path).toBe('partial');
      await waitForStats(pool, isFull);
    }
    // A server that sends corrupt bodies is answering: no failure counted, no backoff.
    expect(pool.stats()).toMatchObject({ failures: 0, backoffs: 0 });
    // And pool.request does not repeat it (not a transport failure), even with retries asked for.
    const before = server.requests;
    await rejection(pool.request({ path: '/garbage', retry: 3 }));
    expect(server.requests - before).toBe(1);
  });

  it('an abort at any moment, while the body is decoded after it is all in included, settles the request and the pool heals', async () => {
    // 2 MiB of zeros: 2 KiB on the wire, in at once, then most of the request's time inflating.
    const size = 2 << 20;
    const body = zlib.gzipSync(Buffer.alloc(size));
    const server = await startHttpServer((_req, res) => {
      res.setHeader('content-encoding', 'gzip');
      res.end(body);
    });
    const pool = await openPool({ url: server.url, connections: 1, maxBodySize: 0 });
    // How long a whole request takes here, now: the aborts are spread over twice that, so
    // some land in flight and some after the decode, however loaded the machine is (a fixed
    // count of turns over a fixed 8 MiB body ran past the test's timeout under two CI runs).
    const started = performance.now();
    expect((await pool.request({ path: '/' })).body.length).toBe(size);
    const whole = performance.now() - started;
    const decoded = `${size}`;
    const outcomes = new Set<string>();
    const TURNS = 30;
    for (let turn = 0; turn < 100 && (turn < TURNS || !outcomes.has(decoded) || !outcomes.has('REQUEST_ABORTED')); turn++) {
      const controller = new AbortController();
      const request = pool.request({ path: '/', signal: controller.signal }).then(
        (res) => `${res.body.length}`,
        (error: Error & { code?: string }) => error.code!,
      );
      await new Promise((resolve) => setTimeout(resolve, turn < TURNS ? (turn / TURNS) * 2 * whole : 3 * whole));
      controller.abort();
      outcomes.add(await request);
      await waitForStats(pool, isFull);
    }
    // Both ends were reached: aborts in flight, and whole bodies decoded. An abort may also land
    // while the request still waits for the connection (its last response settling): ACQUIRE_ABORTED.
    expect(outcomes).toContain(decoded);
    expect(outcomes).toContain('REQUEST_ABORTED');
    expect([...outcomes].filter((outcome) => ![decoded, 'REQUEST_ABORTED', 'ACQUIRE_ABORTED'].includes(outcome))).toEqual([]);
  });

  it('`decompress` that is not a boolean is INVALID_OPTIONS on the pool and INVALID_REQUEST on a request', async () => {
    const { server } = await encodingServer();
    await expect(openPool({ url: server.url, decompress: 'yes' as never })).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
      message: 'Expected `decompress` to be a boolean, got a string of 3 characters',
    });
    const pool = await openPool({ url: server.url, connections: 1 });
    await expect(pool.request({ path: '/gzip', decompress: 1 as never })).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
      message: 'Expected `decompress` to be a boolean, got 1 (number)',
    });
    expect(server.requests).toBe(0);
  });
});
