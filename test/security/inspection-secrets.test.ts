/**
 * No secret reaches any inspection event (issue 17, item 4). An inspector is attached
 * from birth (the `inspect` option), both as a raw XState callback and through an
 * `@statelyai/inspect` adapter, to a pool and two feeds that hold every kind of secret
 * lifeline is given: URL credentials, secret header values (by name, and marked with
 * `secretHeaders`), a proxy's credentials, a feed URL's `?token=`, a URL provider's and
 * a headers provider's answers, and subscription messages carrying a key. They connect,
 * serve requests, lose every connection, reconnect, subscribe, unsubscribe and close;
 * every event is then rendered (JSON with a replacer that survives cycles, errors as
 * `String()`, and `util.inspect` as console.log shows it) and searched for each secret.
 * Each secret is also shown to have really been used (the servers saw it), so an
 * absent secret cannot pass for a scrubbed one.
 */
import { inspect } from 'node:util';
import { createInspector, type StatelyInspectionEvent } from '@statelyai/inspect';
import { describe, expect, it } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { ClientPool, Feed, type ClientPoolOptions } from '../../src/index.js';
import { startConnectProxy } from '../helpers/connect-proxy.js';
import { startHttpServer } from '../helpers/http-server.js';
import { openFeed, waitForState } from '../helpers/feed.js';
import { isFull, waitFor, waitForStats } from '../helpers/pool.js';
import { startWsServer } from '../helpers/ws-server.js';

const SECRETS = {
  urlPassword: 'urlpw-SECRET-01',
  bearer: 'bearer-SECRET-02',
  apiKey: 'apikey-SECRET-03',
  desk: 'desk-SECRET-04',
  proxyPassword: 'proxypw-SECRET-05',
  requestSignature: 'reqsig-SECRET-06',
  feedToken: 'feedtok-SECRET-07',
  feedKey: 'feedkey-SECRET-08',
  providerSignature: 'provsig-SECRET-09',
  providerHeader: 'provhdr-SECRET-10',
  subscriptionKey: 'subkey-SECRET-11',
  laterSubscriptionKey: 'sublater-SECRET-12',
  unsubscribeKey: 'unsub-SECRET-13',
};
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
/** The encoded forms a secret travels in: a Basic token holds the password only base64-encoded. */
const ENCODED = {
  urlBasic: basic('trader', SECRETS.urlPassword).slice(6),
  proxyBasic: basic('desk', SECRETS.proxyPassword).slice(6),
};

/** JSON of anything: an object already written is not written again, an error is its `String()`, cause and own fields. */
function render(value: unknown, seen: WeakSet<object>): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item === 'bigint') return String(item);
    if (typeof item === 'function') return `[function ${item.name}]`;
    if (typeof item !== 'object' || item === null) return item;
    if (seen.has(item)) return '[seen]';
    seen.add(item);
    if (item instanceof Error) return { error: String(item), stack: item.stack, cause: item.cause, ...item };
    return item;
  });
}

/**
 * The strings a serialiser that ignores `toJSON` would find (superjson, which `@statelyai/inspect`'s
 * Sky adapter uses, or a hand-written walk): every string reachable through own enumerable
 * properties and Map and Set entries. Getters are not called; private fields are not reachable.
 */
function walk(value: unknown, seen: WeakSet<object>, into: string[]): void {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item === 'string') into.push(item);
    if ((typeof item !== 'object' && typeof item !== 'function') || item === null || seen.has(item)) continue;
    seen.add(item);
    if (item instanceof Error) into.push(String(item));
    if (item instanceof Map || item instanceof Set) for (const entry of item) stack.push(entry);
    for (const key of Object.keys(item)) {
      const descriptor = Object.getOwnPropertyDescriptor(item, key);
      if (descriptor && 'value' in descriptor) stack.push(descriptor.value);
    }
  }
}

/**
 * Every rendering of the events: JSON, util.inspect (what console.log(event) prints) and the walk.
 * The actors an event names are inspected once each, not with every event (each drags the whole system).
 */
function renderAll(events: readonly object[]): string {
  const json = new WeakSet<object>();
  const walked = new WeakSet<object>();
  const strings: string[] = [];
  const actors = new Set<unknown>();
  const out = events.map((event) => {
    const { actorRef, sourceRef, ...rest } = event as { actorRef?: unknown; sourceRef?: unknown };
    actors.add(actorRef).add(sourceRef);
    walk(event, walked, strings);
    return `${render(event, json)}\n${inspect(rest, { depth: 6 })}`;
  });
  for (const actor of actors) if (actor) out.push(inspect(actor, { depth: 6 }));
  return [...out, ...strings].join('\n');
}

function expectNoSecret(text: string): void {
  for (const [name, secret] of [...Object.entries(SECRETS), ...Object.entries(ENCODED)]) {
    const at = text.indexOf(secret);
    expect(at, `${name} leaked: ...${text.slice(Math.max(0, at - 300), at + 60)}...`).toBe(-1);
  }
}

describe('inspection never sees a secret', () => {
  it('a pool through a proxy, with URL credentials and secret headers: connects, requests, a drop, reconnects, close', async () => {
    const sent: string[] = [];
    const server = await startHttpServer((req, res) => {
      sent.push(JSON.stringify(req.headers));
      res.end('ok');
    });
    const proxy = await startConnectProxy(basic('desk', SECRETS.proxyPassword));
    const raw: InspectionEvent[] = [];
    const adapted: StatelyInspectionEvent[] = [];
    const stately = createInspector({ send: (event) => void adapted.push(event) });
    const pool = await ClientPool.connect({
      url: server.url.replace('http://', `http://trader:${SECRETS.urlPassword}@`),
      connections: 2,
      // No default `authorization`: the URL's credentials become it (Basic); a request sends its own (Bearer).
      headers: { 'x-api-key': SECRETS.apiKey, 'x-desk': SECRETS.desk },
      secretHeaders: ['X-Desk'],
      proxy: proxy.url.replace('http://', `http://desk:${SECRETS.proxyPassword}@`),
      backoff: { initial: 1, max: 5 },
      inspect: (event) => {
        raw.push(event);
        stately.inspect.next?.(event);
      },
    } satisfies ClientPoolOptions);
    try {
      const own = { authorization: `Bearer ${SECRETS.bearer}`, 'x-signature': SECRETS.requestSignature };
      expect((await pool.request({ path: '/a', headers: own })).status).toBe(200);
      // Every connection drops: the slots fail, back off and redial through the proxy.
      server.resetAll();
      await waitForStats(pool, (stats) => stats.dials >= 4 && isFull(stats));
      expect((await pool.request({ path: '/b', method: 'POST', body: 'x', headers: { 'x-signature': SECRETS.requestSignature } })).status).toBe(200);
      const lease = await pool.acquire();
      expect((await lease.request({ path: '/c' })).status).toBe(200);
      lease.release();
    } finally {
      await pool.close();
    }
    await waitFor(() => adapted.length >= raw.filter((e) => e.type !== '@xstate.action' && e.type !== '@xstate.microstep').length, () => adapted.length);

    // The secrets were really used: the server got the headers, the proxy the credentials.
    expect(sent.join()).toContain(SECRETS.bearer);
    expect(sent.join()).toContain(ENCODED.urlBasic);
    expect(sent.join()).toContain(SECRETS.requestSignature);
    expect(proxy.tunnels).toBeGreaterThanOrEqual(4);
    expect(proxy.refused).toBe(0);
    // And inspection saw the whole life: every actor's birth, state changes, the drop.
    expect(raw.filter((e) => e.type === '@xstate.actor').length).toBeGreaterThanOrEqual(4);
    expect(raw.some((e) => e.type === '@xstate.event' && e.event.type === 'lost')).toBe(true);
    expect(adapted.some((e) => e.type === '@xstate.snapshot')).toBe(true);

    expectNoSecret(renderAll(raw));
    expectNoSecret(renderAll(adapted));
  });

  it('feeds with a ?token= URL, secret headers, a URL and a headers provider, and subscriptions carrying a key', async () => {
    const upgrades: string[] = [];
    const server = await startWsServer();
    const proxy = await startConnectProxy(basic('desk', SECRETS.proxyPassword));
    const raw: InspectionEvent[] = [];
    const adapted: StatelyInspectionEvent[] = [];
    const stately = createInspector({ send: (event) => void adapted.push(event) });
    const both = {
      next: (event: InspectionEvent) => {
        raw.push(event);
        stately.inspect.next?.(event);
      },
    };
    const subscription = JSON.stringify({ op: 'auth', args: { apiKey: SECRETS.subscriptionKey, channel: 'orders' } });
    const tokenFeed = openFeed({
      url: `${server.url}/ws?token=${SECRETS.feedToken}&symbol=btcusdt`,
      headers: { 'x-api-key': SECRETS.feedKey },
      subscriptions: [subscription],
      proxy: proxy.url.replace('http://', `http://desk:${SECRETS.proxyPassword}@`),
      backoff: { initial: 1, max: 5 },
      inspect: both,
    });
    const providerFeed = openFeed({
      url: () => {
        upgrades.push('url()');
        return `${server.url}/private?signature=${SECRETS.providerSignature}`;
      },
      headers: () => ({ 'x-session': SECRETS.providerHeader }),
      subscriptions: [subscription],
      backoff: { initial: 1, max: 5 },
      inspect: both,
    });
    await waitForState(tokenFeed, 'healthy');
    await waitForState(providerFeed, 'healthy');
    const later = JSON.stringify({ method: 'SUBSCRIBE', params: ['executionReport'], listenKey: SECRETS.laterSubscriptionKey });
    tokenFeed.subscribe(later);
    await waitFor(() => server.received.flat().includes(later), () => server.received);
    // Every connection drops: both feeds back off and reconnect, re-sending their subscriptions.
    server.dropAll();
    await waitFor(() => tokenFeed.stats().connections >= 2 && providerFeed.stats().connections >= 2, () => [tokenFeed.stats(), providerFeed.stats()]);
    await waitForState(tokenFeed, 'healthy');
    await waitForState(providerFeed, 'healthy');
    tokenFeed.unsubscribe(later, JSON.stringify({ method: 'UNSUBSCRIBE', listenKey: SECRETS.unsubscribeKey }));
    await waitFor(() => server.received.flat().some((text) => text.includes(SECRETS.unsubscribeKey)), () => server.received);
    await tokenFeed.close();
    await providerFeed.close();
    await waitFor(() => adapted.length >= raw.filter((e) => e.type !== '@xstate.action' && e.type !== '@xstate.microstep').length, () => adapted.length);

    // The secrets were really used: the server got the subscriptions, the provider was called again.
    expect(server.received.flat().filter((text) => text === subscription).length).toBeGreaterThanOrEqual(4);
    expect(upgrades.length).toBeGreaterThanOrEqual(2);
    expect(proxy.tunnels).toBeGreaterThanOrEqual(2);
    expect(raw.some((e) => e.type === '@xstate.event' && e.event.type === 'subscribe')).toBe(true);
    expect(raw.some((e) => e.type === '@xstate.event' && e.event.type === 'lost')).toBe(true);

    expectNoSecret(renderAll(raw));
    expectNoSecret(renderAll(adapted));
  });
});
