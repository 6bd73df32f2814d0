/**
 * The dashboard in a real browser: headless Chromium (Debian's, driven by
 * playwright-core) follows a real pool and a real feed through real drops and
 * back, sees each outage on the timelines, fits a 360 px screen, and greys out
 * when the stream ends, and draws each pool's governor (its budget, a pause counting down, a shared
 * store gone degraded, its waiters). The page is saved as screenshots: to the system's temp
 * folder, or to visualizations/dashboard.png and dashboard-timeline.png (the
 * README's pictures) with LIFELINE_SCREENSHOT=1, so that a test run leaves the
 * work tree as it was.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Page } from 'playwright-core';
import { CHROMIUM, launchChromium } from '../../scripts/headless-chromium.js';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createMachine } from 'xstate';
import { Governor, redisStore, serveDashboard } from '../../src/index.js';
import { FEED_CHART, SLOT_CHART } from '../../src/dashboard/charts.js';
import { pageMachine, pageMachines } from '../../src/dashboard/machines.js';
import { dashboardPage, LOG_ROWS } from '../../src/dashboard/page.js';
import type { PageMachines, PageRequest, PageSnapshot } from '../../src/dashboard/protocol.js';
import { toSvg } from '../../tools/statechart/statechart.js';
import { SseClient } from '../helpers/dashboard-client.js';
import { startHttpServer } from '../helpers/http-server.js';
import { openFeed } from '../helpers/feed.js';
import { openPool } from '../helpers/pool.js';
import { openRedisClient } from '../helpers/redis-client.js';
import { startRedis } from '../helpers/redis-server.js';
import { startWsServer } from '../helpers/ws-server.js';

const SCREENSHOT = process.env.LIFELINE_SCREENSHOT ? 'visualizations/dashboard.png' : join(tmpdir(), 'lifeline-dashboard.png');
const TIMELINE_SCREENSHOT = process.env.LIFELINE_SCREENSHOT ? 'visualizations/dashboard-timeline.png' : join(tmpdir(), 'lifeline-dashboard-timeline.png');
const GOVERNOR_SCREENSHOT = join(tmpdir(), 'lifeline-dashboard-governor.png');
/** Bounds a failing wait; a passing one returns as soon as the page shows it. */
const WAIT = 10_000;

const POLL = { timeout: WAIT, interval: 20 };

/** The state of each slot of pool 0 in the table, as the page shows it. */
function slotStates(page: Page): Promise<string[]> {
  return page.locator('#actors tr[data-source="pool 0"] td.state').allTextContents();
}

/** The states pool 0's log rows lead to, newest first. */
function loggedStates(page: Page): Promise<(string | null)[]> {
  return page.$$eval('#log tr[data-source="pool 0"]', (rows) => rows.map((row) => row.getAttribute('data-to')));
}

/**
 * The first segment in `source`'s timelines that is in `state` after a recorded change, as drawn:
 * its width, whether it lies within its track, whether it is what the page shows at its centre
 * (not covered by a neighbour), and its tooltip.
 */
function outage(page: Page, source: string, state: string) {
  const seg = page.locator(`.track[data-source="${source}"] .seg[data-state="${state}"]:not(.before)`).first();
  return seg.evaluate((node) => {
    const box = node.getBoundingClientRect();
    const track = node.parentElement!.getBoundingClientRect();
    const top = node.ownerDocument.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
    return { width: box.width, within: box.left >= track.left - 0.5 && box.right <= track.right + 0.5, seen: top === node, title: node.getAttribute('title') };
  });
}

/** The time in state of every row of the table, as shown. */
function ages(page: Page): Promise<string[]> {
  return page.locator('#actors td.age').allTextContents();
}

/** Serves `html` and one `snapshot` on its event stream, from a real server on loopback; returns the page's URL. */
async function serveSnapshot(html: string, snapshot: PageSnapshot): Promise<string> {
  const server = http.createServer((req, res) => {
    if (req.url === '/') return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    if (req.url !== '/events') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(`event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

/** Leases counted over pool 0's slots, as the table shows them. */
async function served(page: Page): Promise<number> {
  const cells = await page.locator('#actors tr[data-source="pool 0"] td.served').allTextContents();
  return cells.reduce((sum, cell) => sum + Number(cell), 0);
}

/** A Chromium page on `url`, closed when the test finishes, live; `problems` collects its script errors. */
async function openLivePage(url: string, viewport?: { width: number; height: number }): Promise<{ page: Page; problems: string[] }> {
  const browser = await launchChromium(WAIT);
  onTestFinished(() => browser.close());
  const page = await browser.newPage(viewport ? { viewport } : {});
  page.setDefaultTimeout(WAIT);
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  await page.goto(url);
  await page.locator('#status.live').waitFor();
  return { page, problems };
}

describe('the dashboard in Chromium', () => {
  it('shows slots healthy, a drop, the heal, live', async () => {
    // Not skipped when missing: a browser test that silently does not run proves nothing.
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`).toBe(true);
    const server = await startHttpServer();
    const pool = await openPool({ url: server.url, connections: 2, history: 100, backoff: { initial: 20, max: 100 } });
    const venue = await startWsServer();
    const feed = openFeed({ url: venue.url });
    const dashboard = await serveDashboard({ pools: [pool], feeds: [feed] });
    onTestFinished(() => dashboard.close());
    const browser = await launchChromium(WAIT);
    onTestFinished(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(WAIT);
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('request', (request) => {
      if (!request.url().startsWith(dashboard.url)) problems.push(`request to ${request.url()}`);
    });

    // Traffic while the page watches, so leases and messages are counted and slots flip busy.
    let flowing = true;
    const traffic = (async () => {
      for (let tick = 0; flowing; tick++) {
        await pool.request({ path: '/' }).catch(() => {});
        venue.broadcast(JSON.stringify({ trade: tick }));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    onTestFinished(async () => {
      flowing = false;
      await traffic;
    });

    await page.goto(dashboard.url);
    await page.locator('#status.live').waitFor();
    await expect.poll(() => slotStates(page), POLL).toContain('healthy');
    await page.locator('.card[data-source="pool 0"] [data-state="slot.healthy"].lit').waitFor();
    expect(await page.textContent('.card[data-source="pool 0"] h2 .label')).toBe(server.url);
    await page.locator('.card[data-source="feed 0"] [data-state="feed.connected.healthy"].lit').waitFor();

    server.dropAll();
    // A slot leaves healthy (the server closed it after serving: a clean end, redialed at once): the log shows it...
    await page.locator('#log tr[data-source="pool 0"][data-to="connecting"]').first().waitFor();
    // ...and comes back: newest first, a row to healthy above the latest to connecting.
    await expect
      .poll(async () => {
        const states = await loggedStates(page);
        return states.indexOf('healthy') < states.indexOf('connecting');
      }, POLL)
      .toBe(true);
    await expect.poll(async () => (await slotStates(page)).every((state) => state === 'healthy' || state === 'busy'), POLL).toBe(true);
    expect(await slotStates(page)).toHaveLength(2);
    // Leases keep being counted after the heal: the page is live, not a frozen snapshot.
    const before = await served(page);
    await expect.poll(() => served(page), POLL).toBeGreaterThan(before);

    // The drop is on the timeline: the redial (a few ms, far less than the 150 ms a pixel is worth
    // here) drawn wide enough to see, inside its track, on top, and saying what it was.
    const redial = await outage(page, 'pool 0', 'connecting');
    expect(redial.width).toBeGreaterThanOrEqual(3);
    expect(redial.within).toBe(true);
    expect(redial.seen).toBe(true);
    expect(redial.title).toMatch(/^connecting \d+(\.\d)? m?s, from \d\d:\d\d:\d\d\.\d{3}, on ended/);

    // The feed dropped too: its outage (poisoned, backoff, connecting) on its timeline, and its badge says its state.
    venue.dropAll();
    await page.locator('.track[data-source="feed 0"] .seg[data-state="poisoned"]:not(.before)').waitFor();
    await page.locator('.card[data-source="feed 0"] [data-state="feed.connected.healthy"].lit').waitFor();
    const lost = await outage(page, 'feed 0', 'poisoned');
    expect(lost.width).toBeGreaterThanOrEqual(3);
    expect(lost.seen).toBe(true);
    expect(lost.title).toMatch(/^poisoned .*, on lost/);
    await expect.poll(() => page.locator('.card[data-source="feed 0"] .badge').allTextContents(), POLL).toEqual(['healthy']);

    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(10_000);
    // The timelines of both cards, with their drops.
    const top = (await page.locator('.card h2').first().boundingBox())!;
    const bottom = Math.max(...(await page.locator('.card .timeline').evaluateAll((nodes) => nodes.map((n) => n.getBoundingClientRect().bottom + n.ownerDocument.defaultView!.scrollY))));
    const cards = (await page.locator('#cards').boundingBox())!;
    await page.screenshot({ path: TIMELINE_SCREENSHOT, clip: { x: cards.x - 8, y: top.y - 8, width: cards.width + 16, height: bottom - top.y + 16 } });
    expect(statSync(TIMELINE_SCREENSHOT).size).toBeGreaterThan(5_000);

    // A phone's width: nothing is wider than the screen, and the drop is still seen.
    await page.setViewportSize({ width: 360, height: 800 });
    expect(await page.locator('html').evaluate((html) => html.ownerDocument.scrollingElement!.scrollWidth)).toBeLessThanOrEqual(360);
    await expect.poll(async () => (await outage(page, 'pool 0', 'connecting')).seen, POLL).toBe(true);
    expect(problems).toEqual([]);

    // The process goes away: the stream ends, the page says so, greys out and stops its clocks.
    await dashboard.close();
    await expect.poll(() => page.textContent('#status'), POLL).toMatch(/^process gone: last heard \d\d:\d\d:\d\d\.\d{3}/);
    expect(await page.locator('body').evaluate((body) => body.classList.contains('gone'))).toBe(true);
    // The last state is still lit, in grey (--closed, #6e7681), and the whole page is greyed.
    const lit = page.locator('.card[data-source="pool 0"] .lit > rect').first();
    expect(await lit.evaluate((rect) => rect.ownerDocument.defaultView!.getComputedStyle(rect).stroke)).toBe('rgb(110, 118, 129)');
    expect(await page.locator('main').evaluate((main) => main.ownerDocument.defaultView!.getComputedStyle(main).filter)).toContain('grayscale(1)');
    const stopped = await ages(page);
    await page.waitForTimeout(600);
    expect(await ages(page)).toEqual(stopped);
  });

  it('lights the chart nodes the server names, whatever the machine calls its states', async () => {
    // A pool's slots as another machine: no state, node or chart the page has seen before, nested deeper.
    const conn = createMachine({
      id: 'conn',
      initial: 'dialing',
      states: {
        dialing: { on: { ok: 'up' } },
        up: { initial: 'idle', on: { drop: 'dialing' }, states: { idle: { on: { take: 'working' } }, working: {} } },
        gone: { type: 'final' },
      },
    });
    const machines: PageMachines = { ...pageMachines(), pool: pageMachine(conn, { leased: 'idle' }) };
    const stats = { connections: 4, waiting: 3, dialing: 1, idle: 1, leased: 1, working: 1 };
    const snapshot: PageSnapshot = {
      now: Date.now(),
      pools: [
        {
          id: 'pool 0',
          origin: 'http://127.0.0.1:1',
          recording: true,
          stats,
          slots: ['idle', 'leased', 'working', 'dialing'].map((state, i) => ({ actor: `slot ${i}`, state, attempts: 0 })),
        },
      ],
      feeds: [],
      history: [{ source: 'pool 0', at: Date.now(), actor: 'slot 3', from: 'working', to: 'dialing', event: 'drop' }],
      logRows: LOG_ROWS,
      machines,
    };
    const html = dashboardPage([
      { template: machines.pool.chart, svg: toSvg(conn) },
      { template: machines.feed.chart, svg: FEED_CHART },
    ]);
    const url = await serveSnapshot(html, snapshot);
    const { page, problems } = await openLivePage(url);

    const card = page.locator('.card[data-source="pool 0"]');
    const lit = await card.locator('.lit').evaluateAll((nodes) => nodes.map((n) => [n.getAttribute('data-state'), n.querySelector('.badge')?.textContent]));
    // idle and leased light the same node; the badges list the slots on each.
    expect(lit.sort()).toEqual([['conn.dialing', '3'], ['conn.up.idle', '0,1'], ['conn.up.working', '2']]);
    expect(await card.locator('.lit-parent').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-state')))).toEqual(['conn.up']);
    // The counters: connections, each state's count in the order of the stats, waiting.
    expect(await card.locator('.counters').textContent()).toBe('connections 4dialing 1idle 1leased 1working 1waiting 3');
    expect(await page.locator('#log tr[data-to="dialing"]').count()).toBe(1);
    // No pool keeps a request log: the panel says how to turn one on.
    expect(await page.locator('#requests-off').textContent()).toBe('request log off: enable it with the pool option requestLog');
    expect(await page.locator('#requests').isHidden()).toBe(true);
    expect(problems).toEqual([]);
  });

  it('places every badge clear of titles, labels, states and arrows, in every state of both charts, and lists requests', async () => {
    const machines = pageMachines();
    const poolStates = machines.pool.states.map((state) => state.name);
    const feedStates = machines.feed.states.map((state) => state.name);
    const now = Date.now();
    const requests: PageRequest[] = [
      { id: 6, origin: 'http://127.0.0.1:1', slot: 0, method: 'GET', path: '/api/v3/klines', attempt: 1, replayed: false, status: 200,
        times: { queued: now - 30, acquired: now - 29.5, written: now - 29, headers: now - 22, done: now - 21 } },
      { id: 7, origin: 'http://127.0.0.1:1', slot: 1, method: 'POST', path: '/api/v3/order?token=[redacted]', attempt: 2, replayed: true, error: 'CONNECTION_LOST',
        times: { queued: now - 12, acquired: now - 11, written: now - 10, done: now - 4 } },
    ];
    const pool = (id: string, slots: string[], withRequests: boolean): PageSnapshot['pools'][number] => ({
      id,
      origin: 'http://127.0.0.1:1',
      recording: true,
      stats: { connections: slots.length, waiting: 0 },
      slots: slots.map((state, i) => ({ actor: `slot ${i}`, state, attempts: 0 })),
      ...(withRequests ? { requests } : {}),
    });
    const snapshot: PageSnapshot = {
      now,
      // One pool with a slot in every state (all lit at once), and one with no request log.
      pools: [pool('pool 0', poolStates, true), pool('pool 1', ['healthy'], false)],
      feeds: feedStates.map((state, i) => {
        const stats = { state, messages: 0, dropped: 0, connections: 0, attempts: 0, subscriptions: 0 };
        return { id: `feed ${i}`, url: 'ws://127.0.0.1:1', recording: true, state, stats, summary: { actor: 'feed', state, attempts: 0 } };
      }),
      history: [],
      logRows: LOG_ROWS,
      machines,
    };
    const html = dashboardPage([
      { template: machines.pool.chart, svg: SLOT_CHART },
      { template: machines.feed.chart, svg: FEED_CHART },
    ]);
    const url = await serveSnapshot(html, snapshot);
    const { page, problems } = await openLivePage(url, { width: 1280, height: 900 });

    // Checked here on its own, in the chart's units: not by the page's placement code.
    const covered = await page.$$eval('.card .chart svg', (svgs) =>
      svgs.flatMap((svg) => {
        type Box = { x: number; y: number; w: number; h: number };
        // Chart nodes, typed by what is read of them (the tests are checked without the DOM's types).
        const box = (node: { getBBox(): { x: number; y: number; width: number; height: number } }): Box => {
          const b = node.getBBox();
          return { x: b.x, y: b.y, w: b.width, h: b.height };
        };
        const hit = (a: Box, b: Box) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        const found: string[] = [];
        for (const bg of svg.querySelectorAll('.badge-bg')) {
          const b = box(bg);
          const own = bg.closest('[data-state]')!;
          const name = `${svg.closest('.card')!.getAttribute('data-source')} ${own.getAttribute('data-state')} badge`;
          for (const text of svg.querySelectorAll('text:not(.badge)')) if (hit(b, box(text))) found.push(`${name} covers the text ${text.textContent}`);
          for (const rect of svg.querySelectorAll('.state.atomic > rect, .state.final > rect, .transition > rect, .any > rect')) {
            const of = rect.parentElement!;
            if (of !== own && hit(b, box(rect))) found.push(`${name} covers ${of.getAttribute('data-state') ?? of.getAttribute('data-label') ?? 'any state'}`);
          }
          for (const path of svg.querySelectorAll('.transition > path')) {
            // Walked only near the badge (walking a path is slow).
            const near = box(path);
            if (!hit({ x: b.x - 2, y: b.y - 2, w: b.w + 4, h: b.h + 4 }, { x: near.x - 1, y: near.y - 1, w: near.w + 2, h: near.h + 2 })) continue;
            for (let at = 0; at <= path.getTotalLength(); at++) {
              const p = path.getPointAtLength(at);
              if (p.x >= b.x - 1 && p.x <= b.x + b.w + 1 && p.y >= b.y - 1 && p.y <= b.y + b.h + 1) {
                found.push(`${name} covers the arrow ${path.parentElement!.getAttribute('data-label') ?? '(initial)'}`);
                break;
              }
            }
          }
          for (const other of svg.querySelectorAll('.badge-bg')) if (other !== bg && hit(b, box(other))) found.push(`${name} covers another badge`);
        }
        return found;
      }),
    );
    expect(covered).toEqual([]);
    // Every state lit: pool 0's five nodes (busy shares healthy's), one per feed, each feed's badge its state.
    expect(await page.locator('.card[data-source="pool 0"] .badge').count()).toBe(new Set(machines.pool.states.map((state) => state.node)).size);
    expect(await page.locator('.card[data-kind="feed"] .badge').allTextContents()).toEqual(feedStates);

    // The requests panel: pool 0's log, newest first; pool 1 named as having none.
    expect(await page.locator('#requests').isVisible()).toBe(true);
    const rows = await page.$$eval('#requests tbody tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
    expect(rows.map((cells) => cells.slice(1))).toEqual([
      ['pool 0', '7', '1', 'POST /api/v3/order?token=[redacted]', '2 (replayed)', 'CONNECTION_LOST', '1.0 ms', '1.0 ms', '', '8.0 ms'],
      ['pool 0', '6', '0', 'GET /api/v3/klines', '1', '200', '0.5 ms', '0.5 ms', '7.0 ms', '9.0 ms'],
    ]);
    expect(rows[0]![0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3}$/);
    expect(await page.locator('#requests-off').textContent()).toBe('pool 1: request log off: enable it with the pool option requestLog');
    expect(problems).toEqual([]);
  });

  it("draws each pool's governor: budget per window, a pause counting down, a degraded store, waiters by priority, and no secret", async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`).toBe(true);
    const SECRETS = ['key-SECRET-7f3a', 'api-SECRET-91c2', 'sig-SECRET-04de'];
    // The venue pauses for 30 s on /limit; anything else is fine.
    const server = await startHttpServer((req, res) => {
      if (req.url === '/limit') return void res.writeHead(429, { 'retry-after': '30' }).end();
      res.writeHead(200).end('ok');
    });
    // pool 0: a governor of its own, two windows, paused by the venue, one background caller waiting it out.
    const local = new Governor({ windows: [{ weight: 10, per: 60_000 }, { weight: 100, per: 600_000 }] });
    const paused = await openPool({ url: server.url, connections: 1, governor: local, headers: { 'x-api-key': SECRETS[1]! } });
    for (let i = 0; i < 3; i++) await paused.request({ path: '/' });
    await paused.request({ path: '/limit' });
    const waiter = new AbortController();
    const waiting = paused.request({ path: '/', priority: 'background', timeout: 60_000, signal: waiter.signal }).catch((error: unknown) => error);
    onTestFinished(async () => {
      waiter.abort();
      await waiting;
    });
    // pool 1: a governor on a shared Redis store (a real redis-server), whose Redis then goes away.
    const redis = await startRedis();
    const client = await openRedisClient(redis.url);
    const shared = new Governor({ windows: [{ weight: 20, per: 60_000 }], store: redisStore(client, { key: SECRETS[0]!, retry: 60_000 }), localShare: 0.5 });
    const degraded = await openPool({ url: server.url, connections: 1, governor: shared, sign: () => ({ query: { signature: SECRETS[2]! } }) });
    await degraded.request({ path: '/' });
    await redis.stop();
    await degraded.request({ path: '/' });
    expect(shared.storeState).toBe('degraded');
    // pool 2: no governor, no strip.
    const plain = await openPool({ url: server.url, connections: 1 });

    const dashboard = await serveDashboard({ pools: [paused, degraded, plain], feeds: [] });
    onTestFinished(() => dashboard.close());
    const stream = await SseClient.open(`${dashboard.url}events`);
    const { page, problems } = await openLivePage(dashboard.url, { width: 1280, height: 900 });

    const strip = (id: string) => page.locator(`.governor[data-source="${id}"]`);
    // The pause: its badge, its state, and its time left, counting down between stats.
    const badge = strip('pool 0').locator('.gov-state');
    expect(await badge.getAttribute('data-governor-state')).toBe('paused');
    const left = async () => Number(/^paused (\d+\.\d) s left$/.exec((await badge.textContent())!)?.[1]);
    const first = await left();
    expect(first).toBeGreaterThan(20);
    expect(first).toBeLessThanOrEqual(30);
    await expect.poll(left, POLL).toBeLessThan(first);
    // Colour by state: --backoff (#db6d28) for a pause.
    expect(await badge.evaluate((node) => node.ownerDocument.defaultView!.getComputedStyle(node).backgroundColor)).toBe('rgb(219, 109, 40)');
    // Budget per window, used / limit and what is left; the waiter by priority; no store badge for a local governor.
    expect(await strip('pool 0').locator('.gov-window').allTextContents()).toEqual(['per 1 min4/106 left', 'per 10 min4/10096 left']);
    expect(await strip('pool 0').locator('.gov-waiting').textContent()).toBe('waiting order 0 normal 0 background 1');
    expect(await strip('pool 0').locator('.gov-degraded, .gov-store').count()).toBe(0);
    // The shared store unreachable: the degraded badge, beside an open state.
    await strip('pool 1').locator('.gov-degraded').waitFor();
    expect(await strip('pool 1').locator('.gov-degraded').textContent()).toBe('degraded');
    expect(await strip('pool 1').locator('.gov-state').textContent()).toBe('open');
    expect(await strip('pool 1').locator('.gov-counts').textContent()).toContain('degradations 1');
    expect(await strip('pool 2').isHidden()).toBe(true);
    // A phone's width: the strip wraps, the page is no wider than the screen.
    await page.setViewportSize({ width: 360, height: 800 });
    expect(await page.locator('html').evaluate((html) => html.ownerDocument.scrollingElement!.scrollWidth)).toBeLessThanOrEqual(360);
    mkdirSync(dirname(GOVERNOR_SCREENSHOT), { recursive: true });
    await page.locator('.card[data-source="pool 0"]').screenshot({ path: GOVERNOR_SCREENSHOT });

    // Nothing secret reached the page or its stream: not the store's key, a header, or a signature.
    await stream.waitFor((event) => event.event === 'stats', 'a stats event');
    const html = await page.content();
    for (const secret of SECRETS) {
      expect(html.includes(secret), `the page shows ${secret}`).toBe(false);
      expect(stream.raw.includes(secret), `the stream carries ${secret}`).toBe(false);
    }
    expect(problems).toEqual([]);
  });
});
