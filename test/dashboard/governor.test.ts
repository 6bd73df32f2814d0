/**
 * The dashboard's data carries each pool's governor (issue 18): state, budget used and
 * waiters, for the badge the page will draw.
 */
import { SimulatedClock } from 'xstate';
import { describe, expect, it } from 'vitest';
import { Governor } from '../../src/index.js';
import { dashboardView } from '../../src/dashboard/view.js';
import { startHttpServer } from '../helpers/http-server.js';
import { openPool } from '../helpers/pool.js';

describe('dashboard: the governor', () => {
  it("shows a pool's governor, paused by a 429, and none for a pool without one", async () => {
    const clock = new SimulatedClock();
    const governor = new Governor({ windows: [{ weight: 10, per: 1_000 }], clock });
    const server = await startHttpServer((_req, res) => res.writeHead(429, { 'retry-after': '3' }).end());
    const governed = await openPool({ url: server.url, connections: 1, governor });
    const plain = await openPool({ url: server.url, connections: 1 });
    await governed.request({ path: '/', weight: 2 });
    const [first, second] = dashboardView({ pools: [governed, plain], feeds: [] }).pools;
    expect(first!.governor).toEqual({
      state: 'paused',
      pausedFor: 3_000,
      used: [2],
      limits: [10],
      pers: [1_000],
      waiting: { order: 0, normal: 0, background: 0 },
      pauses: 1,
      bans: 0,
      rateLimited: 0,
      store: 'local',
      degradations: 0,
    });
    expect(second!.governor).toBeUndefined();
  });
});
