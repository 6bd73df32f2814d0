/**
 * Decompression against a real peer (issue 16, item 3): nginx from Debian compressing on the
 * fly (`gzip on`, every size), and serving a precompressed zip bomb (`gzip_static`). The
 * pool's default asks for gzip and decodes it on kept-alive connections; `decompress: false`
 * asks for nothing and nginx sends plain; the bomb is BODY_TOO_LARGE and the pool heals.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejection } from '../helpers/errors.js';
import { isFull, openPool, waitForStats } from '../helpers/pool.js';
import { startNginx, stopAllRealServers, type ReloadableServer } from './real-servers.js';

/** A depth snapshot of about 6 KiB: text nginx compresses well. No `'` or `$` (nginx quoting and variables). */
const DEPTH = JSON.stringify({ symbol: 'BTCUSDT', bids: Array.from({ length: 150 }, (_, i) => [`${50_000 - i}.00`, '0.125']) });

let nginx: ReloadableServer;
let files: string;

beforeAll(async () => {
  files = mkdtempSync(path.join(os.tmpdir(), 'lifeline-gzip-'));
  mkdirSync(path.join(files, 'static'));
  // 10 MiB of zeros, 10 KiB gzipped; gzip_static serves the .gz to a client that accepts gzip.
  writeFileSync(path.join(files, 'static', 'bomb.json.gz'), zlib.gzipSync(Buffer.alloc(10 << 20)));
  writeFileSync(path.join(files, 'static', 'bomb.json'), 'a client without gzip gets this');
  nginx = await startNginx({
    config: `
    gzip on;
    gzip_types text/plain application/json;
    gzip_min_length 0;
    add_header x-asked "$http_accept_encoding" always;
    location = /depth { default_type application/json; return 200 '${DEPTH}'; }
    location /static/ { root ${files}; gzip_static on; default_type application/json; }`,
  });
});

afterAll(async () => {
  await stopAllRealServers();
  rmSync(files, { recursive: true, force: true });
});

describe('nginx gzip', () => {
  it('the default asks for gzip and decodes what nginx compresses, on kept-alive connections', async () => {
    const pool = await openPool({ url: nginx.url, connections: 2 });
    for (let i = 0; i < 20; i++) {
      const res = await pool.request({ path: '/depth' });
      expect(res.status).toBe(200);
      expect(res.json<{ bids: string[][] }>().bids).toHaveLength(150);
      expect(res.headers['x-asked']).toBe('gzip, deflate, br');
      expect(res.headers['content-encoding']).toBeUndefined();
      expect(res.headers['content-type']).toBe('application/json');
    }
    expect(pool.stats()).toMatchObject({ dials: 2, cleanEnds: 0, failures: 0 });
  });

  it('nginx did compress: with decompress: false and gzip asked for by hand, the bytes are gzip; without, nginx sends plain', async () => {
    const pool = await openPool({ url: nginx.url, connections: 1, decompress: false });
    const raw = await pool.request({ path: '/depth', headers: { 'accept-encoding': 'gzip' } });
    expect(raw.headers['content-encoding']).toBe('gzip');
    expect(raw.body.length).toBeLessThan(DEPTH.length / 2);
    expect(zlib.gunzipSync(raw.body).toString()).toBe(DEPTH);
    const plain = await pool.request({ path: '/depth' });
    expect(plain.headers['x-asked']).toBeUndefined(); // nginx leaves out a header whose value is empty
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.text()).toBe(DEPTH);
  });

  it('a zip bomb from gzip_static is BODY_TOO_LARGE, and the pool heals without counting a failure', async () => {
    const pool = await openPool({ url: nginx.url, connections: 1, maxBodySize: 1 << 20 });
    const error = await rejection(pool.request({ path: '/static/bomb.json' }));
    expect([error.code, error.message]).toEqual(['BODY_TOO_LARGE', 'the decoded response body exceeded maxBodySize (1048576 bytes)']);
    await waitForStats(pool, isFull);
    expect(pool.stats()).toMatchObject({ failures: 0, backoffs: 0 });
    // The same file, undecoded, is what nginx sent: 10 KiB of gzip.
    const raw = await pool.request({ path: '/static/bomb.json', decompress: false, headers: { 'accept-encoding': 'gzip' } });
    expect(raw.headers['content-encoding']).toBe('gzip');
    expect(raw.body.length).toBeLessThan(16 * 1024);
  });
});
