/**
 * The dashboard in a real browser: headless Chromium (Debian's, driven by
 * playwright-core) follows a real pool through a real fault and back, beside a
 * live feed, and the page is saved as a screenshot: to the system's temp folder,
 * or to visualizations/dashboard.png (the README's picture) with
 * LIFELINE_SCREENSHOT=1, so that a test run leaves the work tree as it was.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Page } from 'playwright-core';
import { CHROMIUM, launchChromium } from '../../scripts/headless-chromium.js';
import { describe, expect, it, onTestFinished } from 'vitest';
import { serveDashboard } from '../../src/index.js';
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
});
