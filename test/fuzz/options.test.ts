/**
 * Hostile options: whatever object a caller hands `ClientPool.connect` or
 * `Feed.connect` (wrong types, NaN, Infinity, huge numbers, CR/LF/NUL, getters
 * that throw, Proxies, `__proto__` keys, arrays, unknown keys, bad URLs,
 * symbols, bigints...), connect either works (and the pool or feed is closed
 * again) or fails with `INVALID_OPTIONS` naming the offending field. Nothing
 * else escapes: no TypeError, no unhandled rejection (vitest fails the run on
 * one), no hang, and no secret of the valid part of the options in a message.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ClientPool, Feed, Governor, isLifelineError, type ClientPoolOptions, type FeedOptions } from '../../src/index.js';
import { SLOT_BACKOFF } from '../../src/testing/index.js';
import { FEED_OPTION_KEYS } from '../../src/feed/options.js';
import { POOL_OPTION_KEYS, resolvePoolOptions } from '../../src/pool/options.js';
import { startHttpServer } from '../helpers/http-server.js';
import { propertyParams } from '../helpers/seed.js';
import { anyValue, apply, HOSTILE_MAKERS, mutation, revokedProxy } from './hostile-values.js';
import { startWsServer } from '../helpers/ws-server.js';

const SECRET = 'fz-SECRET-7c1e9a';

const POOL_FIELDS = [...POOL_OPTION_KEYS];
const FEED_FIELDS = [...FEED_OPTION_KEYS];
/** Keys of the nested option objects, so a nested mutation hits a real key as often as an unknown one. */
const NESTED_KEYS: Record<string, string[]> = {
  headers: ['x-api-key', 'authorization', 'x a', 'x\r\ny', '__proto__', ''],
  tls: ['ca', 'cert', 'key', 'rejectUnauthorized', 'servername', 'rejectUnauthorised'],
  backoff: ['initial', 'max', 'factor', 'jitter', 'delay', 'maximum'],
  heartbeat: ['interval', 'timeout', 'every'],
  sendQueue: ['size', 'maxAge', 'ttl'],
  requestLog: ['size', 'capacity'],
  http2: ['maxConcurrentStreams', 'pingInterval', 'pingTimeout', 'maxStreams'],
  perMessageDeflate: ['serverMaxWindowBits', 'clientMaxWindowBits', 'threshold', 'zlibDeflateOptions', 'zlibInflateOptions'],
  // An XState observer: only `next` is read; the rest of an observer is the user's.
  inspect: ['next', 'error', 'complete', 'nxt'],
};

const BAD_URLS = [
  '',
  'not a url',
  'ftp://127.0.0.1/',
  'file:///etc/passwd',
  'javascript:alert(1)',
  'http://',
  'http://[::1',
  'http://127.0.0.1:99999',
  'http://a b/',
  'http://\0/',
  'http://127.0.0.1/?a=1',
  'http://127.0.0.1/#f',
  `http://u:%E0%A4%A@127.0.0.1/`,
  `ws://u:${SECRET}@127.0.0.1/`,
  `wss://127.0.0.1/?token=${SECRET}`,
  `http://u:${SECRET}@127.0.0.1:99999/`,
];

const hostile: fc.Arbitrary<() => unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_MAKERS) },
  { weight: 1, arbitrary: fc.constantFrom(...BAD_URLS).map((url) => () => url) },
  { weight: 2, arbitrary: anyValue },
);

/** Whatever connect did is one of the two allowed outcomes; an accepted pool or feed is closed. */
async function expectWorksOrRefused(connect: () => Promise<{ close(): Promise<void> }>, field: string): Promise<'works' | 'refused'> {
  let opened: { close(): Promise<void> } | undefined;
  let error: unknown;
  try {
    opened = await connect();
  } catch (e) {
    error = e;
  }
  if (opened) {
    await opened.close();
    return 'works';
  }
  expect(isLifelineError(error, 'INVALID_OPTIONS'), `not INVALID_OPTIONS: ${String(error)}`).toBe(true);
  const message = (error as Error).message;
  expect(message, 'the message names the offending field').toContain(field);
  expect(message).not.toContain(SECRET);
  expect(message.length, 'a message never echoes a long value').toBeLessThan(600);
  return 'refused';
}

describe('options fuzzing', () => {
  it('ClientPool.connect: every hostile option works or is refused with INVALID_OPTIONS naming it', async () => {
    const server = await startHttpServer();
    // lazy: the option checks are the point, not a connection; the mutation of `lazy` itself still dials eagerly.
    const base = { url: server.url, connections: 1, lazy: true, headers: { 'x-api-key': SECRET } };
    const outcomes = { works: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(mutation(POOL_FIELDS, NESTED_KEYS, hostile), async (m) => {
        const { options, field } = apply(base, m);
        outcomes[await expectWorksOrRefused(() => ClientPool.connect(options as ClientPoolOptions), field)]++;
      }),
      propertyParams('ClientPool.connect options', { numRuns: 250 }),
    );
    // Both outcomes were really exercised: a fuzzer that only ever refuses proves nothing about "works".
    expect(outcomes.works).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(outcomes.works);
  });

  it('Feed.connect: every hostile option works or throws INVALID_OPTIONS naming it', async () => {
    const server = await startWsServer();
    const base = { url: server.url, headers: { authorization: `Bearer ${SECRET}` }, subscriptions: ['s'] };
    const outcomes = { works: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(mutation(FEED_FIELDS, NESTED_KEYS, hostile), async (m) => {
        const { options, field } = apply(base, m);
        outcomes[await expectWorksOrRefused(async () => Feed.connect(options as FeedOptions), field)]++;
      }),
      propertyParams('Feed.connect options', { numRuns: 250 }),
    );
    expect(outcomes.works).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(outcomes.works);
  });

  it('every field, with every hostile value: works or is refused naming that field (no draw of luck needed)', async () => {
    // The random runs above found a revoked Proxy as `dialLimiter` only now and then (issue 14);
    // the whole cross product of fields and hostile makers costs well under a second.
    const server = await startHttpServer();
    const ws = await startWsServer();
    const poolBase = { url: server.url, connections: 1, lazy: true, headers: { 'x-api-key': SECRET } };
    const feedBase = { url: ws.url, headers: { authorization: `Bearer ${SECRET}` }, subscriptions: ['s'] };
    for (const make of HOSTILE_MAKERS) {
      for (const field of POOL_FIELDS) {
        const { options } = apply(poolBase, { kind: 'field', field, make });
        await expectWorksOrRefused(() => ClientPool.connect(options as ClientPoolOptions), field);
      }
      for (const field of FEED_FIELDS) {
        const { options } = apply(feedBase, { kind: 'field', field, make });
        await expectWorksOrRefused(async () => Feed.connect(options as FeedOptions), field);
      }
    }
  });

  it('requestLog: an object with a whole `size`; each wrong one refused with what was expected and what came', () => {
    const log = (requestLog: unknown) => resolvePoolOptions({ url: 'http://x', requestLog }).requestLog;
    expect([log(undefined), log({}), log({ size: 0 }), log({ size: 7 })]).toEqual([0, 500, 0, 7]);
    const refusal = (requestLog: unknown) => {
      try {
        log(requestLog);
      } catch (error) {
        return isLifelineError(error, 'INVALID_OPTIONS') ? error.message : String(error);
      }
      return 'accepted';
    };
    expect(refusal(true)).toMatch(/^Expected `requestLog` to be an object, got/);
    expect(refusal({ capacity: 5 })).toMatch(/^Unknown option `requestLog.capacity`; known options are size/);
    for (const size of [-1, 1.5, Number.NaN, Infinity, 100_001, '10']) expect(refusal({ size })).toMatch(/^Expected `requestLog.size` to be/);
  });

  it('options are never read through their prototype (a polluted Object.prototype cannot set one)', async () => {
    const server = await startHttpServer();
    // Read through the prototype, `lazy: 'yes'` would be refused; read as own data, the defaults apply.
    const options = Object.create({ lazy: 'yes', connections: -1 }) as Record<string, unknown>;
    options.url = server.url;
    const pool = await ClientPool.connect(options as unknown as ClientPoolOptions);
    expect(pool.stats()).toMatchObject({ connections: 4, healthy: 4 });
    await pool.close();
  });

  it('a user delay or random function that throws or returns garbage cannot stop or storm reconnects', () => {
    const throwing = resolvePoolOptions({ url: 'http://x', backoff: { delay: () => { throw new Error('delay'); } } }).supervisor;
    // Thrown inside the slot actor, it would fail the actor; instead the policy falls back to `initial`.
    expect(throwing.backoff(3, throwing.random)).toBe(SLOT_BACKOFF.initial);
    for (const bad of [() => Number.NaN, () => -1, () => 1, () => 'x', () => { throw new Error('random'); }]) {
      const { random, backoff } = resolvePoolOptions({ url: 'http://x', random: bad as () => number }).supervisor;
      const r = random();
      expect(r >= 0 && r < 1, String(bad)).toBe(true);
      // NaN here would become a 1 ms timer: a reconnect storm.
      expect(Number.isFinite(backoff(5, random))).toBe(true);
    }
  });

  it.each([
    ['a getter that throws', { get url(): string { throw new Error('boom'); } }, 'Expected `url` to be a readable value, got a getter that threw'],
    ['keys that cannot be listed', new Proxy({}, { ownKeys: () => { throw new Error('trap'); } }), 'Expected `options` to be a plain object, got one whose keys cannot be listed'],
    ['a Proxy of a URL', { url: new Proxy(new URL('http://127.0.0.1:1'), {}) }, 'Expected `url` to be an http:// or https:// URL string, got an object'],
    ['malformed percent-encoded credentials', { url: 'http://u:%E0%A4%A@127.0.0.1:1' }, 'Expected `url` to be a URL whose credentials are validly percent-encoded, got malformed ones'],
    ['a header getter that throws', { url: 'http://x', headers: { get 'x-key'(): string { throw new Error('h'); } } }, 'Expected `headers.x-key` to be a readable value, got a getter that threw'],
    ['a header array that cannot be read', { url: 'http://x', headers: { accept: new Proxy(['a'], { get: () => { throw new Error('t'); } }) } }, 'Expected `headers.accept` to be a string or an array of strings, got one that cannot be read'],
    ['tls.ca of the wrong type', { url: 'https://x', tls: { ca: 5 } }, 'Expected `tls.ca` to be a PEM string or Buffer, or an array of them, got 5 (number)'],
    ['tls on an http URL, still checked', { url: 'http://x', tls: 'yes' }, 'Expected `tls` to be an object, got a string of 3 characters'],
    ['tls.rejectUnauthorized that is merely falsy', { url: 'https://x', tls: { rejectUnauthorized: 0 } }, 'Expected `tls.rejectUnauthorized` to be a boolean, got 0 (number)'],
    ['a basePath with NUL', { url: 'http://x', basePath: '/a\0b' }, 'Expected `basePath` to be a path string of visible ASCII characters, without query or fragment, got a string of 4 characters'],
    ['a revoked Proxy as dialLimiter', { url: 'http://x', dialLimiter: revokedProxy() }, 'Expected `dialLimiter` to be a DialLimiter (new DialLimiter({ concurrency, perSecond })), got an object'],
    ['a revoked Proxy as governor', { url: 'http://x', governor: revokedProxy() }, 'Expected `governor` to be a Governor (new Governor({ windows: [{ weight, per }] })), got an object'],
    ['a plain object as governor', { url: 'http://x', governor: { windows: [{ weight: 1, per: 1 }] } }, 'Expected `governor` to be a Governor (new Governor({ windows: [{ weight, per }] })), got an object'],
    ['a string as sign', { url: 'http://x', sign: 'hmac' }, 'Expected `sign` to be a function (request) => { headers?, query? }, got a string of 4 characters'],
    ['a bigint of 401 digits', { url: 'http://x', connections: 10n ** 400n }, 'Expected `connections` to be an integer from 1 to 1024, got a 401-digit number (bigint)'],
  ])('ClientPool.connect refuses %s', async (_name, options, message) => {
    const error = await ClientPool.connect(options as unknown as ClientPoolOptions).catch((e: unknown) => e);
    expect(isLifelineError(error, 'INVALID_OPTIONS'), String(error)).toBe(true);
    expect((error as Error).message).toBe(message);
  });

  it.each([
    ['no windows', {}, 'Expected `governor.windows` to be a non-empty array of { weight, per } windows, got undefined'],
    ['an empty windows list', { windows: [] }, 'Expected `governor.windows` to be an array of 1 to 16 windows, got 0'],
    ['a window without per', { windows: [{ weight: 10 }] }, 'Expected `governor.windows[0].per` to be a duration in ms, got undefined'],
    ['a window weight of 0', { windows: [{ weight: 0, per: 1 }] }, 'Expected `governor.windows[0].weight` to be an integer from 1 to 9007199254740991, got 0 (number)'],
    ['a window per of NaN', { windows: [{ weight: 1, per: Number.NaN }] }, 'Expected `governor.windows[0].per` to be an integer from 1 to 2147483647, got NaN (number)'],
    ['a header that is no token', { windows: [{ weight: 1, per: 1, header: 'x used' }] }, 'Expected `governor.windows[0].header` to be a header name (an HTTP token), got a string of 6 characters'],
    ['an unknown window key', { windows: [{ weight: 1, per: 1, limit: 2 }] }, 'Unknown option `governor.windows[0].limit`; known options are weight, per, header'],
    ['reserves adding up to 1', { windows: [{ weight: 1, per: 1 }], reserve: { order: 0.5, normal: 0.5 } }, 'Expected `governor.reserve` to be shares adding up to less than 1, got 1'],
    ['a reserve as a string', { windows: [{ weight: 1, per: 1 }], reserve: { order: '20%' } }, 'Expected `governor.reserve.order` to be a number from 0 to 0.99, got a string of 3 characters'],
    ['a ban status of 200', { windows: [{ weight: 1, per: 1 }], banStatuses: [200] }, 'Expected `governor.banStatuses[0]` to be an integer from 400 to 599, got 200 (number)'],
    ['pause statuses not an array', { windows: [{ weight: 1, per: 1 }], pauseStatuses: 429 }, 'Expected `governor.pauseStatuses` to be an array of HTTP statuses (400 to 599), got 429 (number)'],
    ['a negative pauseDefault', { windows: [{ weight: 1, per: 1 }], pauseDefault: -1 }, 'Expected `governor.pauseDefault` to be an integer from 1 to 2147483647, got -1 (number)'],
    ['a clock without timers', { windows: [{ weight: 1, per: 1 }], clock: {} }, 'Expected `governor.clock` to be an object with setTimeout and clearTimeout, got an object'],
    ['an unknown key', { windows: [{ weight: 1, per: 1 }], perMinute: 1200 }, 'Unknown option `governor.perMinute`; known options are windows, reserve, pauseStatuses, banStatuses, pauseDefault, banDefault, clock, meter, store, localShare'],
    ['a revoked Proxy', revokedProxy(), undefined],
  ])('new Governor refuses %s with INVALID_OPTIONS naming the field', (_name, options, message) => {
    let error: unknown;
    try {
      new Governor(options as never);
    } catch (e) {
      error = e;
    }
    expect(isLifelineError(error, 'INVALID_OPTIONS'), String(error)).toBe(true);
    if (message) expect((error as Error).message).toBe(message);
    else expect((error as Error).message).toContain('`governor');
  });

  it.each([
    ['a sparse urls array', { urls: [, 'ws://x'] }, 'Expected `urls[0]` to be a ws:// or wss:// URL string, got undefined'],
    ['a sparse subscriptions array', { url: 'ws://x', subscriptions: [, 's'] }, 'Expected `subscriptions[0]` to be a string, got undefined'],
    ['a header name that is no HTTP token', { url: 'ws://x', headers: { 'a b': 'v' } }, 'Expected `headers` names to be HTTP tokens, got an invalid name of 3 characters'],
    ['tls.ca of the wrong type', { url: 'wss://x', tls: { ca: [5] } }, 'Expected `tls.ca[0]` to be a PEM string or Buffer, got 5 (number)'],
    ['malformed percent-encoded credentials', { url: 'ws://u:%E0%A4%A@127.0.0.1:1' }, undefined],
  ])('Feed.connect refuses %s (or, for credentials ws sends as they are, works)', async (_name, options, message) => {
    let error: unknown;
    try {
      await Feed.connect(options as unknown as FeedOptions).close();
    } catch (e) {
      error = e;
    }
    if (message === undefined) {
      // ws sends a feed URL's credentials itself; lifeline only has to not crash collecting them as secrets.
      expect(error).toBeUndefined();
      return;
    }
    expect(isLifelineError(error, 'INVALID_OPTIONS'), String(error)).toBe(true);
    expect((error as Error).message).toBe(message);
  });
});
