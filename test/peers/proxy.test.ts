/**
 * Proxies (issue 16, item 6): pools and feeds dial through a real HTTP CONNECT proxy,
 * tinyproxy from Debian on 127.0.0.1. The proxy's own log shows each CONNECT, so a
 * request that reached its server directly would not pass. Credentials go as
 * `Proxy-Authorization: Basic`; a refusal (407, 403) or a proxy that is down is a failed
 * dial: CONNECT_FAILED, backoff, and no password anywhere.
 */
import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { WebSocketServer } from 'ws';
import { isLifelineError, type ClientPool } from '../../src/index.js';
import { TEST_CERT, TEST_KEY } from '../fixtures/tls.js';
import { rejection } from '../helpers/errors.js';
import { openFeed, waitForState } from '../helpers/feed.js';
import { isFull, openPool, waitFor, waitForStats } from '../helpers/pool.js';
import { available, freePort, startTinyproxy, stopAllRealServers, type ProxyServer } from './real-servers.js';

const USER = 'trader';
const PASSWORD = 'pw-9d3f61b2';

/** A server on 127.0.0.1 answering every request with 200 "ok", closed when the test finishes. */
async function startOrigin(secure = false): Promise<{ server: http.Server; port: number }> {
  const handler: http.RequestListener = (_req, res) => res.end('ok');
  const server = secure ? https.createServer({ cert: TEST_CERT, key: TEST_KEY }, handler) : http.createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onTestFinished(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { server, port: (server.address() as AddressInfo).port };
}

/** A ws server on 127.0.0.1 that greets each client and echoes what it gets. */
async function startWsOrigin(secure = false): Promise<number> {
  const host = secure ? https.createServer({ cert: TEST_CERT, key: TEST_KEY }) : http.createServer();
  const wss = new WebSocketServer({ server: host });
  wss.on('connection', (socket) => {
    socket.send('hello');
    socket.on('message', (data) => socket.send(`echo ${String(data)}`));
  });
  host.listen(0, '127.0.0.1');
  await once(host, 'listening');
  onTestFinished(async () => {
    for (const client of wss.clients) client.terminate();
    await new Promise((resolve) => wss.close(resolve));
    host.closeAllConnections();
    await new Promise((resolve) => host.close(resolve));
  });
  return (host.address() as AddressInfo).port;
}

/** CONNECT request lines the proxy logged for `port`. */
const connectsTo = (proxy: ProxyServer, port: number) => proxy.requests().filter((line) => line === `CONNECT 127.0.0.1:${port} HTTP/1.1`).length;

/** Everything a secret could leak into: an error (and its causes), a pool's stats, history and machine state. */
function rendered(pool: ClientPool, error?: unknown): string {
  const context = pool.actor.getSnapshot().context;
  return [
    inspect(error, { depth: 6 }),
    JSON.stringify(pool.stats()),
    JSON.stringify(pool.history()),
    inspect(pool.history(), { depth: 6 }),
    inspect(context, { depth: 6 }),
    ...context.slots.map((slot) => inspect(slot.getSnapshot().context, { depth: 6 })),
  ].join('\n');
}

describe.skipIf(!available('tinyproxy'))('through tinyproxy', () => {
  let open: ProxyServer;
  let guarded: ProxyServer;

  beforeAll(async () => {
    [open, guarded] = await Promise.all([startTinyproxy(), startTinyproxy({ basicAuth: { user: USER, password: PASSWORD } })]);
  });
  afterAll(() => stopAllRealServers());

  it('a pool GETs through the proxy: every connection is a CONNECT the proxy logged', async () => {
    const { port } = await startOrigin();
    const pool = await openPool({ url: `http://127.0.0.1:${port}`, connections: 2, proxy: open.url });
    for (let i = 0; i < 6; i++) {
      const res = await pool.request({ path: '/' });
      expect(res.status).toBe(200);
      expect(res.text()).toBe('ok');
    }
    expect(pool.stats().dials).toBe(2);
    expect(connectsTo(open, port)).toBe(2);
  });

  it('a URL object is taken, and a healed connection is dialed through the proxy again', async () => {
    const { server, port } = await startOrigin();
    const pool = await openPool({ url: `http://127.0.0.1:${port}`, connections: 1, proxy: new URL(open.url) });
    expect((await pool.request({ path: '/' })).status).toBe(200);
    server.closeAllConnections();
    await waitForStats(pool, (stats) => stats.dials === 2 && isFull(stats));
    expect((await pool.request({ path: '/' })).status).toBe(200);
    expect(connectsTo(open, port)).toBe(2);
  });

  it('an https origin through the proxy: TLS inside the tunnel, verified against the test CA', async () => {
    const { port } = await startOrigin(true);
    const pool = await openPool({ url: `https://127.0.0.1:${port}`, connections: 2, proxy: open.url, tls: { ca: TEST_CERT } });
    expect((await pool.request({ path: '/' })).text()).toBe('ok');
    expect(connectsTo(open, port)).toBe(2);
    // The certificate is still checked: without the CA the tunnel opens, and TLS inside it fails.
    const untrusted = await openPool({ url: `https://127.0.0.1:${port}`, connections: 1, proxy: open.url, lazy: true });
    await waitForStats(untrusted, (stats) => stats.failures >= 1);
    const error = await rejection(untrusted.acquire({ timeout: 20 }));
    expect((error.cause as Error).message).toBe(`connect to 127.0.0.1:${port} through the proxy ${open.url} failed: DEPTH_ZERO_SELF_SIGNED_CERT`);
  });

  it('with BasicAuth: the right credentials pass, sent as Proxy-Authorization', async () => {
    const { port } = await startOrigin();
    const pool = await openPool({ url: `http://127.0.0.1:${port}`, connections: 1, proxy: `http://${USER}:${PASSWORD}@127.0.0.1:${guarded.port}` });
    expect((await pool.request({ path: '/' })).status).toBe(200);
    expect(connectsTo(guarded, port)).toBe(1);
    const everything = rendered(pool);
    for (const secret of [PASSWORD, Buffer.from(`${USER}:${PASSWORD}`).toString('base64')]) expect(everything).not.toContain(secret);
  });

  it('with BasicAuth: wrong credentials are CONNECT_FAILED (tinyproxy answers them 401), and the password shows nowhere', async () => {
    const { port } = await startOrigin();
    const wrong = 'pw-0bad0c4e';
    const proxy = `http://${USER}:${wrong}@127.0.0.1:${guarded.port}`;
    // tinyproxy answers missing credentials with 407, and wrong ones with 401.
    const expected = `connect to 127.0.0.1:${port} through the proxy http://127.0.0.1:${guarded.port} failed: the proxy answered CONNECT with HTTP 401`;
    // Eager: connect() itself fails with it.
    const refused = await rejection(openPool({ url: `http://127.0.0.1:${port}`, connections: 1, proxy }));
    expect(refused.code).toBe('CONNECT_FAILED');
    expect(refused.message).toContain(expected);
    expect(inspect(refused, { depth: 6 })).not.toContain(wrong);
    // Lazy: the slots back off, and an acquire times out with the cause.
    const pool = await openPool({ url: `http://127.0.0.1:${port}`, connections: 2, proxy, lazy: true, history: 50 });
    await waitForStats(pool, (stats) => stats.failures >= 2 && stats.backoffs >= 2);
    const error = await rejection(pool.acquire({ timeout: 20 }));
    expect(error.code).toBe('ACQUIRE_TIMEOUT');
    expect(error.cause).toMatchObject({ code: 'CONNECT_FAILED', message: expected });
    expect(pool.history()).toContainEqual(expect.objectContaining({ event: 'dial.error', reason: 'CONNECT_FAILED', to: 'backoff' }));
    const everything = rendered(pool, error);
    for (const secret of [wrong, Buffer.from(`${USER}:${wrong}`).toString('base64')]) expect(everything).not.toContain(secret);
  });

  it('no credentials at all: 407 too', async () => {
    const { port } = await startOrigin();
    const error = await rejection(openPool({ url: `http://127.0.0.1:${port}`, connections: 1, proxy: guarded.url }));
    expect(error.message).toContain('the proxy answered CONNECT with HTTP 407');
  });

  it('a port the proxy does not allow is CONNECT_FAILED (403)', async () => {
    const picky = await startTinyproxy({ connectPorts: [443] });
    const { port } = await startOrigin();
    const error = await rejection(openPool({ url: `http://127.0.0.1:${port}`, connections: 1, proxy: picky.url }));
    expect(error).toMatchObject({ code: 'CONNECT_FAILED' });
    expect(error.message).toContain(`through the proxy ${picky.url} failed: the proxy answered CONNECT with HTTP 403`);
    await picky.stop();
  });

  it('a proxy that is down: slots back off, and an acquire times out with the cause', async () => {
    const { port } = await startOrigin();
    const down = await freePort();
    const pool = await openPool({ url: `http://127.0.0.1:${port}`, connections: 2, proxy: `http://127.0.0.1:${down}`, lazy: true });
    await waitForStats(pool, (stats) => stats.backoffs >= 2);
    const error = await rejection(pool.acquire({ timeout: 20 }));
    expect(error.code).toBe('ACQUIRE_TIMEOUT');
    expect(error.message).toBe(
      `no connection became free before the acquire timeout: all 2 connections failing: connect to 127.0.0.1:${port} through the proxy http://127.0.0.1:${down} failed: the proxy: ECONNREFUSED`,
    );
    expect(error.cause).toMatchObject({ code: 'CONNECT_FAILED', cause: { code: 'ECONNREFUSED' } });
  });

  it('a feed connects through the proxy, and reconnects through it', async () => {
    const port = await startWsOrigin();
    const feed = openFeed({ url: `ws://127.0.0.1:${port}`, proxy: open.url, subscriptions: ['sub'] });
    const received: string[] = [];
    feed.on('message', (data) => received.push(String(data)));
    await waitForState(feed, 'healthy');
    await waitFor(() => received.includes('echo sub'), () => received);
    // The server's first frame, sent right behind its 101, came through the tunnel first.
    expect(received[0]).toBe('hello');
    expect(connectsTo(open, port)).toBe(1);
    await feed.send('ping');
    await waitFor(() => received.includes('echo ping'), () => received);
  });

  it('a wss feed through the proxy with credentials: TLS inside the tunnel; wrong ones back off (401)', async () => {
    const port = await startWsOrigin(true);
    const feed = openFeed({ url: `wss://127.0.0.1:${port}`, proxy: `http://${USER}:${PASSWORD}@127.0.0.1:${guarded.port}`, tls: { ca: TEST_CERT } });
    const received: string[] = [];
    feed.on('message', (data) => received.push(String(data)));
    await waitForState(feed, 'healthy');
    await waitFor(() => received.includes('hello'), () => received);
    expect(connectsTo(guarded, port)).toBe(1);

    const refused = openFeed({ url: `wss://127.0.0.1:${port}`, proxy: `http://${USER}:nope-5e1a@127.0.0.1:${guarded.port}`, tls: { ca: TEST_CERT } });
    const errors: unknown[] = [];
    refused.on('error', (error) => errors.push(error));
    await waitFor(() => refused.stats().attempts >= 2, () => refused.stats());
    const error = errors.find((e) => isLifelineError(e, 'CONNECT_FAILED'));
    expect(error).toMatchObject({ message: `connect to 127.0.0.1:${port} through the proxy http://127.0.0.1:${guarded.port} failed: the proxy answered CONNECT with HTTP 401` });
    const everything = [inspect(errors, { depth: 6 }), JSON.stringify(refused.stats()), JSON.stringify(refused.history()), inspect(refused.actor.getSnapshot().context, { depth: 6 })].join('\n');
    expect(everything).not.toContain('nope-5e1a');
    expect(everything).not.toContain(PASSWORD);
  });
});
