/**
 * The live dashboard over plain HTTP: the page is self-contained, the event
 * stream follows a real pool and a real feed through a real fault, and no
 * secret reaches anything it serves.
 */
import { REQUEST_ROWS } from '../../src/dashboard/requests.js';
import { createHash } from 'node:crypto';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ClientPool, isLifelineError, serveDashboard, type Dashboard, type DashboardOptions } from '../../src/index.js';
import { DASHBOARD_SCRIPT } from '../../src/dashboard/script.js';
import { pageMachines } from '../../src/dashboard/machines.js';
import type { PageMachines, PageRecord, PageSnapshot, PageView } from '../../src/dashboard/protocol.js';
import { dashboardView } from '../../src/dashboard/view.js';
import { get, SseClient, type SseEvent } from '../helpers/dashboard-client.js';
import { openFeed, waitForState } from '../helpers/feed.js';
import { startHttpServer } from '../helpers/http-server.js';
import { isFull, openPool, waitForStats } from '../helpers/pool.js';
import { startWsServer } from '../helpers/ws-server.js';

const KNOWN_SECRET = 'sk-live-9f8e7d6c5b4a';
const USER = 'desk-7-trader';
const PASSWORD = 'pw-correct-horse-42';
const SECRET2 = 'tok-feed-31415926';
const FEED_AUTH = 'Bearer feed-auth-27182818';
/** What the URL's credentials become: a Basic authorization header. */
const BASIC = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
const SECRETS = [KNOWN_SECRET, USER, PASSWORD, SECRET2, FEED_AUTH, BASIC];

function expectNoSecret(text: string, where: string): void {
  for (const secret of SECRETS) expect(text.includes(secret), `${where} contains ${secret}`).toBe(false);
}

async function open(options: DashboardOptions): Promise<Dashboard> {
  const dashboard = await serveDashboard(options);
  onTestFinished(() => dashboard.close());
  return dashboard;
}

const isRecord = (source: string, test: (data: SseEvent['data']) => boolean) => (e: SseEvent) =>
  e.event === 'record' && e.data.source === source && test(e.data);

type Reported = [kind: keyof PageMachines, state: string];

/** Every state a slot or a feed was reported in: in the table (snapshot and stats) and in the log (history and records). */
function statesReported(events: SseEvent[]): Reported[] {
  const ofRecord = (r: PageRecord): Reported[] => {
    const kind = r.source.startsWith('pool') ? 'pool' : 'feed';
    return [[kind, r.from], [kind, r.to]];
  };
  return events.flatMap(({ event, data }): Reported[] => {
    if (event === 'record') return ofRecord(data as PageRecord);
    const view = data as PageView;
    const history = event === 'snapshot' ? (data as PageSnapshot).history : [];
    return [
      ...view.pools.flatMap((pool) => pool.slots.map((slot): Reported => ['pool', slot.state])),
      ...view.feeds.map((feed): Reported => ['feed', feed.summary.state]),
      ...history.flatMap(ofRecord),
    ];
  });
}

describe('serveDashboard', () => {
  it('streams a pool and a feed through a fault and back, and serves no secret', async () => {
    const server = await startHttpServer();
    const venue = await startWsServer();
    const pool = await openPool({
      url: `http://${USER}:${PASSWORD}@127.0.0.1:${server.port}`,
      connections: 2,
      headers: { 'x-api-key': KNOWN_SECRET },
      history: 100,
    });
    const feed = openFeed({ url: `${venue.url}/stream?token=${SECRET2}`, headers: { authorization: FEED_AUTH } });
    const errors: Error[] = [];
    feed.on('error', (error) => errors.push(error));
    await waitForState(feed, 'healthy');
    const dashboard = await open({ pools: [pool], feeds: [feed] });
    expect(dashboard.url).toBe(`http://127.0.0.1:${dashboard.port}/`);

    const page = await get(dashboard.url);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toMatch(/default-src 'none'; script-src 'sha256-[^']+'/);
    // Self-contained: no script, style, font or image from anywhere; the only URLs are SVG namespaces.
    expect(page.body).not.toMatch(/<script[^>]*\ssrc\s*=/i);
    expect(page.body).not.toMatch(/<link\b/i);
    expect(page.body).not.toMatch(/@import/i);
    // url() only to a fragment of the page itself (the charts' arrowheads).
    expect(page.body).not.toMatch(/url\(\s*['"]?(?!#)/i);
    expect(page.body.replaceAll('http://www.w3.org/2000/svg', '').replaceAll('http://www.w3.org/1999/xlink', '')).not.toMatch(/https?:\/\//);
    expect(page.body).toContain('data-state="slot.healthy"');
    expect(page.body).toContain('data-state="feed.backoff"');

    const sse = await SseClient.open(`${dashboard.url}events`);
    const { event: snapshot } = await sse.waitFor((e) => e.event === 'snapshot', 'the snapshot');
    expect(sse.events[0]!.event).toBe('snapshot');
    expect(snapshot.data.pools).toEqual([
      expect.objectContaining({
        id: 'pool 0',
        origin: `http://127.0.0.1:${server.port}`,
        recording: true,
        stats: expect.objectContaining({ connections: 2, healthy: 2 }),
        slots: [
          expect.objectContaining({ actor: 'slot 0', state: 'healthy', attempts: 0, since: expect.any(Number) }),
          expect.objectContaining({ actor: 'slot 1', state: 'healthy', attempts: 0, since: expect.any(Number) }),
        ],
      }),
    ]);
    expect(snapshot.data.feeds).toEqual([
      expect.objectContaining({
        id: 'feed 0',
        url: venue.url,
        state: 'healthy',
        stats: expect.objectContaining({ state: 'healthy', url: venue.url, subscriptions: 0 }),
        summary: expect.objectContaining({ actor: 'feed', state: 'healthy' }),
      }),
    ]);
    // The feed's connect is already in its history: the log starts with what happened before the tab opened.
    expect(snapshot.data.history).toContainEqual(expect.objectContaining({ source: 'feed 0', from: 'connecting', to: 'healthy' }));
    await sse.waitFor((e) => e.event === 'stats', 'a stats event');

    server.dropAll();
    venue.dropAll();
    const left = await sse.waitFor(isRecord('pool 0', (r) => r.from === 'healthy' && r.to === 'poisoned'), 'a slot leaving healthy');
    expect(left.event.data).toMatchObject({ actor: expect.stringMatching(/^slot [01]$/), event: 'lost' });
    const slot = left.event.data.actor as string;
    await sse.waitFor(isRecord('pool 0', (r) => r.actor === slot && r.to === 'healthy'), `${slot} healthy again`, left.index);
    await sse.waitFor(isRecord('feed 0', (r) => r.to === 'poisoned'), 'the feed poisoned');
    await sse.waitFor(isRecord('feed 0', (r) => r.to === 'healthy'), 'the feed live again');
    await waitForStats(pool, isFull);
    expect((await pool.request({ path: '/' })).status).toBe(200);
    await sse.waitFor((e) => e.event === 'stats' && e.data.pools[0].slots.some((s: { served: number }) => s.served > 0), 'a lease counted');

    const history = await get(`${dashboard.url}history.json`);
    expect(history.status).toBe(200);
    const recorded = JSON.parse(history.body);
    expect(recorded.pools[0]).toMatchObject({ id: 'pool 0', origin: `http://127.0.0.1:${server.port}` });
    expect(recorded.pools[0].history).toEqual(pool.history());
    expect(recorded.feeds[0]).toMatchObject({ id: 'feed 0', url: venue.url });
    expect(recorded.feeds[0].history).toEqual(feed.history());

    // An eager connect that fails says where it tried, never with what.
    await server.stop();
    const failed = await ClientPool.connect({
      url: `http://${USER}:${PASSWORD}@127.0.0.1:${server.port}`,
      headers: { 'x-api-key': KNOWN_SECRET },
    }).catch((error: Error) => error);
    expect(isLifelineError(failed, 'CONNECT_FAILED')).toBe(true);
    errors.push(failed as Error);

    // The page is told about the machines, and every state the stream reported through the faults is one it was told of.
    expect(snapshot.data.machines).toEqual(pageMachines());
    const { machines } = snapshot.data as PageSnapshot;
    for (const [kind, state] of statesReported(sse.events)) {
      expect(machines[kind].states.map((known) => known.name), `${kind} ${state}`).toContain(state);
    }

    expectNoSecret(page.body, 'the page');
    expectNoSecret(sse.raw, 'the event stream');
    expectNoSecret(history.body, '/history.json');
    expectNoSecret(JSON.stringify(pool.history()), 'pool.history()');
    expectNoSecret(JSON.stringify(feed.history()), 'feed.history()');
    expect(errors.length).toBeGreaterThan(1);
    for (const error of errors) expectNoSecret(`${error.message} ${String(error.cause)}`, `error ${error.message}`);
  });

  it('serves one inline script, the compiled page script, and the CSP allows exactly it by its hash', async () => {
    const dashboard = await open({});
    const page = await get(dashboard.url);
    const scripts = [...page.body.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts).toHaveLength(1);
    const [, attributes, text] = scripts[0]!;
    expect(attributes).toBe(' type="module"');
    expect(text).toBe(DASHBOARD_SCRIPT);
    const hash = createHash('sha256').update(text!).digest('base64');
    const scriptSrc = /script-src ([^;]+)/.exec(page.headers['content-security-policy'] as string)![1];
    expect(scriptSrc).toBe(`'sha256-${hash}'`);
  });

  it('names the origin each slot is on, for a pool of several', async () => {
    const [a, b] = await Promise.all([startHttpServer(), startHttpServer()]);
    const pool = await openPool({ urls: [a.url, b.url], connections: 2 });
    const view = dashboardView({ pools: [pool], feeds: [] });
    expect(view.pools[0]!.slots.map((slot) => slot.origin)).toEqual([new URL(a.url).origin, new URL(b.url).origin]);
    // One origin: nothing to tell apart, so nothing is added.
    const single = await openPool({ url: a.url, connections: 1 });
    expect(dashboardView({ pools: [single], feeds: [] }).pools[0]!.slots[0]!.origin).toBeUndefined();
  });

  it('sends no request rows for a pool without a request log, so the page says how to turn one on', async () => {
    const server = await startHttpServer();
    const pool = await openPool({ url: server.url, connections: 1 });
    await pool.request({ path: '/' });
    const view = dashboardView({ pools: [pool], feeds: [] });
    expect(view.pools[0]).not.toHaveProperty('requests');
  });

  it("sends a pool's request log as its request rows, newest last, at most REQUEST_ROWS", async () => {
    const server = await startHttpServer();
    const pool = await openPool({ url: server.url, connections: 1, requestLog: {} });
    expect(dashboardView({ pools: [pool], feeds: [] }).pools[0]!.requests).toEqual([]);
    for (let i = 0; i < REQUEST_ROWS + 2; i++) await pool.request({ path: `/n${i}?token=hunter2` });
    const rows = dashboardView({ pools: [pool], feeds: [] }).pools[0]!.requests!;
    expect(rows).toHaveLength(REQUEST_ROWS);
    expect(rows.at(-1)).toMatchObject({ method: 'GET', path: `/n${REQUEST_ROWS + 1}?token=[redacted]`, slot: 0, status: 200 });
    expect(rows[0]!.id).toBeLessThan(rows.at(-1)!.id);
  });

  it('shows the stats of a pool that records nothing', async () => {
    const server = await startHttpServer();
    const pool = await openPool({ url: server.url, connections: 2, history: 0, backoff: { initial: 5, max: 20 } });
    const dashboard = await open({ pools: [pool] });
    const sse = await SseClient.open(`${dashboard.url}events`);
    const { event } = await sse.waitFor((e) => e.event === 'snapshot', 'the snapshot');
    expect(event.data).toMatchObject({
      pools: [{ recording: false, stats: { healthy: 2 }, slots: [{ actor: 'slot 0', state: 'healthy' }, { actor: 'slot 1', state: 'healthy' }] }],
      feeds: [],
      history: [],
    });
    expect(event.data.pools[0].slots[0].since).toBeUndefined();
    // No records without a recorder, but the stats follow the slots (a stopped server keeps them down
    // long enough for the 500 ms stats to see it; a mere drop heals between two of them).
    await server.stop();
    await sse.waitFor((e) => e.event === 'stats' && e.data.pools[0].stats.healthy === 0, 'the slots seen down in stats');
    await server.restart();
    const { index } = await sse.waitFor((e) => e.event === 'stats' && e.data.pools[0].stats.healthy === 2, 'the slots seen healed');
    expect(sse.events.slice(index).some((e) => e.event === 'record')).toBe(false);
    expect(JSON.parse((await get(`${dashboard.url}history.json`)).body)).toEqual({ pools: [{ id: 'pool 0', origin: server.url, history: [] }], feeds: [] });
  });

  it('answers only GET and HEAD on its three paths, and only to requests addressed to loopback', async () => {
    const dashboard = await open({});
    expect((await get(`${dashboard.url}nope`)).status).toBe(404);
    const post = await get(dashboard.url, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    expect((await get(dashboard.url, { method: 'HEAD' })).status).toBe(200);
    // DNS rebinding: a page on another name that resolves to 127.0.0.1.
    expect((await get(dashboard.url, { headers: { host: `attacker.example:${dashboard.port}` } })).status).toBe(403);
    expect((await get(dashboard.url, { headers: { host: `localhost:${dashboard.port}` } })).status).toBe(200);
  });

  it('closes every open stream and stops listening; close is idempotent', async () => {
    const dashboard = await open({});
    const streams = await Promise.all([SseClient.open(`${dashboard.url}events`), SseClient.open(`${dashboard.url}events`)]);
    await Promise.all(streams.map((sse) => sse.waitFor((e) => e.event === 'snapshot', 'the snapshot')));
    await Promise.all([dashboard.close(), dashboard.close()]);
    await Promise.all(streams.map((sse) => sse.ended));
    const refused = await get(dashboard.url).catch((error: NodeJS.ErrnoException) => error);
    expect((refused as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });

  it('rejects bad options with INVALID_OPTIONS, naming the field', async () => {
    const cases: [unknown, string][] = [
      [{ port: -1 }, 'Expected `port` to be an integer from 0 to 65535, got -1 (number)'],
      [{ port: 1.5 }, 'Expected `port` to be an integer from 0 to 65535, got 1.5 (number)'],
      [{ host: '' }, 'Expected `host` to be a non-empty string, got a string of 0 characters'],
      [{ pools: {} }, 'Expected `pools` to be an array of ClientPools, got an object'],
      [{ pools: [{}] }, 'Expected `pools[0]` to be a ClientPool, got an object'],
      [{ feeds: ['ws://x'] }, 'Expected `feeds[0]` to be a Feed, got a string of 6 characters'],
      [{ prot: 1 }, 'Unknown option `prot`; known options are pools, feeds, port, host'],
      ['pools', 'Expected `options` to be an object, got a string of 5 characters'],
    ];
    for (const [options, message] of cases) {
      const error = await serveDashboard(options as DashboardOptions).catch((e: unknown) => e);
      expect(isLifelineError(error, 'INVALID_OPTIONS'), message).toBe(true);
      expect((error as Error).message).toBe(message);
    }
    // A port already taken is not a bad option but a failure to listen: its own code, with the system's reason.
    const first = await open({});
    const taken = await serveDashboard({ port: first.port }).catch((e: unknown) => e);
    expect(isLifelineError(taken, 'LISTEN_FAILED')).toBe(true);
    expect((taken as Error).message).toBe(`could not listen on \`host\` 127.0.0.1 \`port\` ${first.port}: EADDRINUSE`);
  });
});
