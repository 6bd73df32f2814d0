/**
 * Signing at send time, per attempt: a loopback venue verifies an HMAC-SHA256 over the
 * timestamped query and body, as exchanges do; a retried or replayed request is signed
 * again with a fresh timestamp. The key and the signatures reach no error, diagnostic or record.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import { request } from 'undici';
import { describe, expect, it, onTestFinished } from 'vitest';
import { type SignHook, type SignRequest } from '../../../src/index.js';
import { startHttpServer } from '../../helpers/http-server.js';
import { openPool } from '../../helpers/pool.js';

const SECRET = 'sk-live-9f3a7c1d-do-not-leak';

function hmac(payload: string): string {
  return createHmac('sha256', SECRET).update(payload).digest('hex');
}

/** An exchange's signer: `timestamp` appended to the query, then `signature` over query + body. */
function exchangeSigner(seen: SignRequest[]): SignHook {
  return (request) => {
    seen.push(request);
    const payload = `${request.query ? `${request.query}&` : ''}timestamp=${request.timestamp}`;
    const body = typeof request.body === 'string' ? request.body : request.body ? Buffer.from(request.body).toString() : '';
    return { query: { timestamp: String(request.timestamp), signature: hmac(payload + body) }, headers: { 'x-mbx-apikey': 'api-key-public' } };
  };
}

/** A venue that checks each request's signature before anything else; `fault(n)` may drop the n-th arrival's connection. */
async function verifyingVenue(fault: (arrival: number) => boolean = () => false) {
  const verdicts: boolean[] = [];
  const signatures: string[] = [];
  const server = await startHttpServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const url = new URL(req.url!, 'http://venue');
      const query = url.search.slice(1);
      const match = /^(.*)&signature=([0-9a-f]{64})$/.exec(query);
      const valid =
        match !== null &&
        url.searchParams.get('timestamp') !== null &&
        req.headers['x-mbx-apikey'] === 'api-key-public' &&
        timingSafeEqual(Buffer.from(hmac(match[1]! + body)), Buffer.from(match[2]!));
      verdicts.push(valid);
      if (match) signatures.push(match[2]!);
      if (fault(verdicts.length)) return req.socket.destroy();
      res.writeHead(valid ? 200 : 401).end(valid ? 'ok' : 'bad signature');
    });
  });
  return { server, verdicts, signatures };
}

describe('sign: per attempt, at send time', () => {
  it('signs the final method, path, query and body; the venue verifies it', async () => {
    const seen: SignRequest[] = [];
    const { server, verdicts } = await verifyingVenue();
    const pool = await openPool({ url: `${server.url}/api`, connections: 1, sign: exchangeSigner(seen) });
    const before = Date.now();
    const res = await pool.request({ method: 'POST', path: '/v3/order', query: { symbol: 'BTCUSDT', side: 'BUY' }, body: 'quantity=1' });
    expect(res.status).toBe(200);
    expect(verdicts).toEqual([true]);
    expect(seen[0]).toMatchObject({ method: 'POST', path: '/api/v3/order', query: 'symbol=BTCUSDT&side=BUY', body: 'quantity=1', attempt: 'first' });
    expect(seen[0]!.timestamp).toBeGreaterThanOrEqual(before);
    // A request of its own: `sign: false` goes unsigned (the venue refuses it), its own hook wins over the pool's.
    expect((await pool.request({ path: '/v3/time', sign: false })).status).toBe(401);
    const own: SignRequest[] = [];
    expect((await pool.request({ path: '/v3/account', sign: exchangeSigner(own) })).status).toBe(200);
    expect(own).toHaveLength(1);
    expect(seen).toHaveLength(1);
  });

  it('a retried request is signed again, with a fresh timestamp', async () => {
    const seen: SignRequest[] = [];
    const { server, verdicts, signatures } = await verifyingVenue((arrival) => arrival === 1);
    const pool = await openPool({ url: server.url, connections: 1, retry: 1, sign: exchangeSigner(seen) });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect((await pool.request({ path: '/v3/openOrders', query: { symbol: 'ETHUSDT' } })).status).toBe(200);
    expect(seen.map((s) => s.attempt)).toEqual(['first', 'retry']);
    // Date.now() at each attempt (the same millisecond is possible on loopback, so not asserted strictly greater).
    expect(seen[1]!.timestamp).toBeGreaterThanOrEqual(seen[0]!.timestamp);
    expect(verdicts).toEqual([true, true]);
    expect(signatures).toHaveLength(2);
  });

  it('a replayed request (the stale race on a reused connection) is signed again', async () => {
    const seen: SignRequest[] = [];
    const { server, verdicts } = await verifyingVenue((arrival) => arrival === 2);
    const pool = await openPool({ url: server.url, connections: 1, sign: exchangeSigner(seen) });
    await pool.request({ path: '/v3/ticker' });
    expect((await pool.request({ path: '/v3/depth', query: { limit: 5 } })).status).toBe(200);
    expect(seen.map((s) => s.attempt)).toEqual(['first', 'first', 'replay']);
    expect(seen[2]).toMatchObject({ path: '/v3/depth', query: 'limit=5' });
    expect(verdicts).toEqual([true, true, true]);
    expect(pool.stats().replays).toBe(1);
  });

  it('signs what goes through pool.dispatcher: undici.request with its body, a replay again, fetch without a body', async () => {
    const seen: SignRequest[] = [];
    const { server, verdicts } = await verifyingVenue((arrival) => arrival === 3);
    const pool = await openPool({ url: server.url, connections: 1, sign: exchangeSigner(seen) });
    const dispatcher = pool.dispatcher;
    const posted = await request(`${server.url}/v3/order?symbol=BTCUSDT`, { dispatcher, method: 'POST', body: 'quantity=1' });
    expect(await posted.body.text()).toBe('ok');
    expect(seen[0]).toMatchObject({ method: 'POST', path: '/v3/order', query: 'symbol=BTCUSDT', body: 'quantity=1', attempt: 'first' });
    const fetched = await fetch(`${server.url}/v3/ticker`, { dispatcher } as unknown as RequestInit);
    expect(await fetched.text()).toBe('ok');
    // The third arrival's connection is dropped unanswered (the stale race): the GET is replayed, signed again.
    const replayed = await request(`${server.url}/v3/depth?limit=5`, { dispatcher });
    expect(await replayed.body.text()).toBe('ok');
    expect(seen.map((s) => s.attempt)).toEqual(['first', 'first', 'first', 'replay']);
    expect(verdicts).toEqual([true, true, true, true]);
  });

  it('pool.dispatcher refuses a signed request whose body the hook cannot see (fetch sends every body as a stream), sending nothing', async () => {
    const seen: SignRequest[] = [];
    const { server, verdicts } = await verifyingVenue();
    const pool = await openPool({ url: server.url, connections: 1, sign: exchangeSigner(seen) });
    const error = await fetch(`${server.url}/v3/order`, { dispatcher: pool.dispatcher, method: 'POST', body: 'quantity=1' } as unknown as RequestInit).then(
      () => undefined,
      (e: unknown) => (e as { cause?: unknown }).cause,
    );
    expect(error).toMatchObject({ code: 'SIGN_FAILED', delivery: 'unsent' });
    expect((error as Error).message).toBe(
      'the `sign` hook cannot see a body sent as a stream or an iterable (fetch sends every body so): send it as a string or bytes (undici.request, pool.request); nothing was sent',
    );
    expect(seen).toHaveLength(0);
    expect(verdicts).toHaveLength(0);
    // A hook that throws through the dispatcher: SIGN_FAILED, nothing sent, the slot back.
    const throwing = await openPool({ url: server.url, connections: 1, sign: () => { throw new Error(SECRET); } });
    const thrown = await request(`${server.url}/v3/account`, { dispatcher: throwing.dispatcher }).then(() => undefined, (e: unknown) => e);
    expect(thrown).toMatchObject({ code: 'SIGN_FAILED', delivery: 'unsent', sent: 'never-left' });
    expect(String((thrown as Error).message)).not.toContain(SECRET);
    expect(verdicts).toHaveLength(0);
    expect(throwing.stats().busy).toBe(0);
  });

  it('keeps the key and the signatures out of errors, diagnostics and history', async () => {
    const published: unknown[] = [];
    const listener = (message: unknown) => published.push(message);
    diagnostics.subscribe('lifeline:pool:request', listener);
    onTestFinished(() => {
      diagnostics.unsubscribe('lifeline:pool:request', listener);
    });
    const seen: SignRequest[] = [];
    const { server, signatures } = await verifyingVenue((arrival) => arrival === 2);
    const pool = await openPool({ url: server.url, connections: 1, sign: exchangeSigner(seen), history: 50 });
    await pool.request({ path: '/a' });
    // Not idempotent: the dropped connection's error goes to the caller.
    const lost = await pool.request({ method: 'POST', path: '/order' }).catch((e: unknown) => e as Error);
    expect(lost).toMatchObject({ code: 'CONNECTION_LOST' });
    // A hook that throws with the key in its message: reported by the error's name alone, nothing sent.
    const thrown = await pool
      .request({ path: '/b', sign: () => { throw new TypeError(`bad key ${SECRET}`); } })
      .catch((e: unknown) => e as Error & { cause?: unknown });
    expect(thrown).toMatchObject({ code: 'SIGN_FAILED', delivery: 'unsent', message: 'the `sign` hook threw a TypeError; nothing was sent' });
    expect((thrown as Error).cause).toBeUndefined();
    const bad = await pool.request({ path: '/c', sign: () => ({ headers: { 'x-sig': `${SECRET}\r\n` } }) }).catch((e: unknown) => e as Error);
    expect(bad).toMatchObject({ code: 'SIGN_FAILED', delivery: 'unsent' });
    expect(server.requests).toBe(2);
    const everything = JSON.stringify([String(lost), (lost as Error).stack, String(thrown), String(bad), published, pool.history()]);
    expect(published.length).toBeGreaterThan(0);
    expect(signatures.length).toBe(2);
    for (const secret of [SECRET, ...signatures]) expect(everything).not.toContain(secret);
  });
});
