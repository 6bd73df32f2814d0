/**
 * TLS verification is on by default: a pool or feed refuses a server whose
 * certificate it cannot verify (here self-signed) with CONNECT_FAILED, and
 * connects once the certificate's CA is given. The host name is verified too,
 * and a polluted `Object.prototype` cannot turn verification off.
 */
import { once } from 'node:events';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { WebSocketServer } from 'ws';
import { ClientPool, isLifelineError, type LifelineError } from '../../src/index.js';
import { resolvePoolOptions } from '../../src/pool/options.js';
import { TEST_CERT, TEST_KEY } from '../fixtures/tls.js';
import { openFeed, waitForState } from '../helpers/feed.js';
import { openPool, waitFor } from '../helpers/pool.js';

interface TlsServer {
  port: number;
  /** HTTP requests that got through the handshake. */
  requests: number;
  server: https.Server;
}

async function startTlsServer(): Promise<TlsServer> {
  const state = { port: 0, requests: 0 } as TlsServer;
  state.server = https.createServer({ cert: TEST_CERT, key: TEST_KEY }, (_req, res) => {
    state.requests++;
    res.end('secure');
  });
  state.server.on('tlsClientError', () => {}); // a refused handshake is what these tests provoke
  state.server.listen(0, '127.0.0.1');
  await once(state.server, 'listening');
  onTestFinished(async () => {
    state.server.closeAllConnections();
    await new Promise((resolve) => state.server.close(resolve));
  });
  state.port = (state.server.address() as AddressInfo).port;
  return state;
}

async function connectError(options: Parameters<typeof ClientPool.connect>[0]): Promise<LifelineError> {
  const error = await ClientPool.connect(options).catch((e: unknown) => e);
  expect(isLifelineError(error, 'CONNECT_FAILED'), String(error)).toBe(true);
  return error as LifelineError;
}

describe('TLS', () => {
  it('a pool refuses a self-signed certificate by default and connects with its CA', async () => {
    const server = await startTlsServer();
    const url = `https://127.0.0.1:${server.port}`;
    const refused = await connectError({ url, connections: 2 });
    expect(refused.message).toContain('DEPTH_ZERO_SELF_SIGNED_CERT');
    expect(server.requests).toBe(0);

    const pool = await openPool({ url, connections: 2, tls: { ca: TEST_CERT } });
    expect((await pool.request({ path: '/' })).text()).toBe('secure');
    expect(server.requests).toBe(1);
  });

  it('the CA does not excuse a host name the certificate does not name', async () => {
    const server = await startTlsServer();
    const refused = await connectError({
      url: `https://127.0.0.1:${server.port}`,
      connections: 1,
      tls: { ca: TEST_CERT, servername: 'other.example' },
    });
    expect(refused.message).toContain('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(server.requests).toBe(0);
  });

  it('a polluted Object.prototype cannot turn verification off', () => {
    // Checked on the resolved options: with an enumerable key on Object.prototype, xstate's own
    // for...in loops break before any socket is dialed, so a live pool proves nothing here.
    Object.defineProperty(Object.prototype, 'tls', { value: { rejectUnauthorized: false }, enumerable: true, configurable: true, writable: true });
    Object.defineProperty(Object.prototype, 'rejectUnauthorized', { value: false, enumerable: true, configurable: true, writable: true });
    let resolved: ReturnType<typeof resolvePoolOptions>[];
    try {
      resolved = [resolvePoolOptions({ url: 'https://127.0.0.1:1' }), resolvePoolOptions({ url: 'https://127.0.0.1:1', tls: { ca: TEST_CERT } })];
    } finally {
      delete (Object.prototype as Record<string, unknown>).tls;
      delete (Object.prototype as Record<string, unknown>).rejectUnauthorized;
    }
    for (const options of resolved) expect(options.tls?.rejectUnauthorized).toBe(true);
  });

  it('a wss:// feed refuses a self-signed certificate by default and goes live with its CA', async () => {
    const server = await startTlsServer();
    const wss = new WebSocketServer({ server: server.server });
    onTestFinished(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    wss.on('connection', (socket) => socket.send('hello'));
    const url = `wss://127.0.0.1:${server.port}/`;

    const refused = openFeed({ url, backoff: { initial: 10_000, max: 10_000 } });
    const errors: LifelineError[] = [];
    refused.on('error', (error) => errors.push(error));
    await waitFor(() => errors.length > 0, () => refused.stats());
    expect(errors[0]).toMatchObject({ code: 'CONNECT_FAILED' });
    expect(errors[0]!.message).toContain('DEPTH_ZERO_SELF_SIGNED_CERT');
    expect(wss.clients.size).toBe(0);
    await refused.close();

    const feed = openFeed({ url, tls: { ca: TEST_CERT } });
    const first = new Promise<string>((resolve) => feed.once('message', (data) => resolve(String(data))));
    await waitForState(feed, 'healthy');
    expect(await first).toBe('hello');
  });
});
