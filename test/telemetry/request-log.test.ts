/**
 * Issue 17, item 2: every request has an id, the `lifeline:pool:request` payload says which
 * request went where and when (queued, acquired, written, headers, done), its path scrubbed of
 * secrets; the opt-in `requestLog` ring keeps the last ones for `pool.history({ requests: true })`;
 * and undici's own `undici:request:*` channels fire for lifeline's requests too.
 */
import diagnostics from 'node:diagnostics_channel';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { POOL_REQUEST_CHANNEL, type RequestMessage, type RequestRecord } from '../../src/index.js';
import { openPool } from '../helpers/pool.js';
import { rejection } from '../helpers/errors.js';
import { startHttpServer } from '../helpers/http-server.js';

function subscribe(channel: string): unknown[] {
  const seen: unknown[] = [];
  const listener = (message: unknown) => seen.push(message);
  diagnostics.subscribe(channel, listener);
  onTestFinished(() => void diagnostics.unsubscribe(channel, listener));
  return seen;
}

const isRequest = (record: object): record is RequestRecord => 'kind' in record && record.kind === 'request';

describe('request diagnostics', () => {
  it('the channel payload: id, origin, slot, method, scrubbed path, attempt, and step times in order', async () => {
    const server = await startHttpServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    const pool = await openPool({ url: server.url, connections: 1, history: 0, basePath: '/api', secretHeaders: ['x-account'] });
    const seen = subscribe(POOL_REQUEST_CHANNEL) as RequestMessage[];
    await pool.request({
      method: 'POST',
      path: '/order',
      query: { symbol: 'BTCUSDT', signature: 'sig-5ecret', apiKey: 'key-5ecret', 'x-account': 'acct-5ecret' },
      body: 'buy',
    });
    expect(seen).toHaveLength(1);
    const message = seen[0]!;
    expect(message).toEqual({
      kind: 'request',
      id: expect.any(Number),
      origin: server.url,
      slot: 0,
      method: 'POST',
      path: '/api/order?symbol=BTCUSDT&signature=[redacted]&apiKey=[redacted]&x-account=[redacted]',
      attempt: 1,
      replayed: false,
      repeat: 'first',
      status: 200,
      error: undefined,
      sent: undefined,
      durationMs: expect.any(Number),
      times: { queued: expect.any(Number), acquired: expect.any(Number), written: expect.any(Number), headers: expect.any(Number), done: expect.any(Number) },
      at: expect.any(Number),
    });
    const { queued, acquired, written, headers, done } = message.times;
    expect([queued! <= acquired!, acquired! <= written!, written! <= headers!, headers! <= done]).toEqual([true, true, true, true]);
    // Wall-clock times, for "what happened at 10:32:05"; `at` is Date.now() as it settled, in whole ms.
    expect(Math.abs(done - Date.now())).toBeLessThan(60_000);
    expect(Number.isInteger(message.at)).toBe(true);
    expect(Math.abs(message.at - Date.now())).toBeLessThan(60_000);
  });

  it('a failed request: its payload has the error and `sent`, and the id its error carries', async () => {
    const server = await startHttpServer(() => {}); // never answers
    const pool = await openPool({ url: server.url, connections: 1, history: 0 });
    const seen = subscribe(POOL_REQUEST_CHANNEL) as RequestMessage[];
    const error = await rejection(pool.request({ path: '/slow', deadline: Date.now() + 40 }));
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ id: error.requestId, slot: error.slot, error: 'DEADLINE_EXCEEDED', sent: 'written-no-response', status: undefined });
    expect(seen[0]!.times.written).toBeTypeOf('number');
    expect(seen[0]!.times.headers).toBeUndefined();
  });

  it('lease.request: no queued time (the caller acquired), the lease grant as acquired', async () => {
    const server = await startHttpServer();
    const pool = await openPool({ url: server.url, connections: 1, history: 0 });
    const seen = subscribe(POOL_REQUEST_CHANNEL) as RequestMessage[];
    const lease = pool.tryAcquire()!;
    await lease.request({ path: '/a' });
    lease.release();
    expect(seen[0]!.times.queued).toBeUndefined();
    expect(seen[0]!.times.acquired).toBeLessThanOrEqual(seen[0]!.times.written!);
  });

  it('requestLog: off by default; on, the last `size` requests in pool.history({ requests: true }), among the state changes', async () => {
    const server = await startHttpServer();
    const off = await openPool({ url: server.url, connections: 1 });
    await off.request({ path: '/a' });
    expect(off.history({ requests: true }).filter(isRequest)).toEqual([]);

    const pool = await openPool({ url: server.url, connections: 1, requestLog: { size: 2 } });
    for (const path of ['/one', '/two?token=t0ken-5ecret', '/three']) await pool.request({ path });
    const all = pool.history({ requests: true });
    const requests = all.filter(isRequest);
    expect(requests.map((r) => [r.path, r.status])).toEqual([
      ['/two?token=[redacted]', 200],
      ['/three', 200],
    ]);
    expect(requests[1]!.id).toBe(requests[0]!.id + 1);
    // The slot's first dial came before the requests; history() alone is the state changes, as before.
    expect(isRequest(all[0]!)).toBe(false);
    expect(pool.history().some(isRequest)).toBe(false);
    expect(JSON.stringify(all)).not.toContain('t0ken-5ecret');
  });

  it('requests sort among state changes on one clock: a wall clock stepped ahead (NTP) leaves the dial first', async () => {
    const server = await startHttpServer();
    // Only Date is faked: timers, sockets and performance.now() run for real. A wall clock 10 s
    // ahead of performance's is the drift a long-lived process sees, made large.
    vi.useFakeTimers({ toFake: ['Date'] });
    onTestFinished(() => void vi.useRealTimers());
    vi.setSystemTime(Date.now() + 10_000);
    const pool = await openPool({ url: server.url, connections: 1, requestLog: { size: 4 } });
    await pool.request({ path: '/after-the-dial' });
    const all = pool.history({ requests: true });
    expect(all.findIndex(isRequest)).toBeGreaterThan(0);
    expect(all.map((record) => record.at)).toEqual(all.map((record) => record.at).sort((a, b) => a - b));
  });

  it("undici's own undici:request:* channels fire for lifeline's requests too", async () => {
    const server = await startHttpServer();
    const pool = await openPool({ url: server.url, connections: 1, history: 0 });
    const created = subscribe('undici:request:create') as { request: { path: string; method: string } }[];
    const headers = subscribe('undici:request:headers') as { request: { path: string }; response: { statusCode: number } }[];
    await pool.request({ path: '/seen-by-undici' });
    await pool.dispatcher.request({ origin: server.url, path: '/through-dispatcher', method: 'GET' }).then((r) => r.body.text());
    expect(created.map((m) => m.request.path)).toEqual(['/seen-by-undici', '/through-dispatcher']);
    expect(headers.map((m) => [m.request.path, m.response.statusCode])).toEqual([
      ['/seen-by-undici', 200],
      ['/through-dispatcher', 200],
    ]);
  });
});
