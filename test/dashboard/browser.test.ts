/**
 * The dashboard in a real browser: headless Chromium (Debian's, driven by
 * playwright-core) follows a real pool through a real fault and back, beside a
 * live feed, and the page is saved as a screenshot: to the system's temp folder,
 * or to visualizations/dashboard.png (the README's picture) with
 * LIFELINE_SCREENSHOT=1, so that a test run leaves the work tree as it was.
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
import { serveDashboard } from '../../src/index.js';
import { FEED_CHART } from '../../src/dashboard/charts.js';
import { pageMachine, pageMachines } from '../../src/dashboard/machines.js';
import { dashboardPage, LOG_ROWS } from '../../src/dashboard/page.js';
import type { PageMachines, PageSnapshot } from '../../src/dashboard/protocol.js';
import { toSvg } from '../../tools/statechart/statechart.js';
import { startHttpServer } from '../helpers/http-server.js';
import { openFeed } from '../helpers/feed.js';
import { openPool } from '../helpers/pool.js';
import { startWsServer } from '../helpers/ws-server.js';

const SCREENSHOT = process.env.LIFELINE_SCREENSHOT ? 'visualizations/dashboard.png' : join(tmpdir(), 'lifeline-dashboard.png');
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

/** Leases counted over pool 0's slots, as the table shows them. */
async function served(page: Page): Promise<number> {
  const cells = await page.locator('#actors tr[data-source="pool 0"] td.served').allTextContents();
  return cells.reduce((sum, cell) => sum + Number(cell), 0);
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

    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(10_000);
    expect(problems).toEqual([]);
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
    // A real server on loopback, serving the real page and one snapshot.
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
    const browser = await launchChromium(WAIT);
    onTestFinished(() => browser.close());
    const page = await browser.newPage();
    page.setDefaultTimeout(WAIT);
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.locator('#status.live').waitFor();

    const card = page.locator('.card[data-source="pool 0"]');
    const lit = await card.locator('.lit').evaluateAll((nodes) => nodes.map((n) => [n.getAttribute('data-state'), n.querySelector('.badge')?.textContent]));
    // idle and leased light the same node; the badges list the slots on each.
    expect(lit.sort()).toEqual([['conn.dialing', '3'], ['conn.up.idle', '0,1'], ['conn.up.working', '2']]);
    expect(await card.locator('.lit-parent').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-state')))).toEqual(['conn.up']);
    // The counters: connections, each state's count in the order of the stats, waiting.
    expect(await card.locator('.counters').textContent()).toBe('connections 4dialing 1idle 1leased 1working 1waiting 3');
    expect(await page.locator('#log tr[data-to="dialing"]').count()).toBe(1);
    expect(problems).toEqual([]);
  });
});
