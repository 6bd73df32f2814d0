/**
 * Priorities: `reserve.order` keeps a share of every window for order entry, so account sync
 * (background) never starves it; waiters are served by priority, then first come.
 */
import { SimulatedClock } from 'xstate';
import { describe, expect, it } from 'vitest';
import { Governor } from '../../../src/index.js';
import { startHttpServer } from '../../helpers/http-server.js';
import { openPool } from '../../helpers/pool.js';

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('Governor: priorities', () => {
  it('background and normal requests cannot spend the share reserved for orders', async () => {
    const clock = new SimulatedClock();
    const governor = new Governor({ windows: [{ weight: 10, per: 1_000 }], reserve: { order: 0.2, normal: 0.3 }, clock });
    const server = await startHttpServer();
    const pool = await openPool({ url: server.url, connections: 2, governor });
    // Background may use 10 * (1 - 0.2 - 0.3) = 5.
    for (let i = 0; i < 5; i++) await pool.request({ path: '/sync', priority: 'background' });
    await expect(pool.request({ path: '/sync', priority: 'background', timeout: 0 })).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    // Normal may use 8.
    for (let i = 0; i < 3; i++) await pool.request({ path: '/ticker' });
    await expect(pool.request({ path: '/ticker', timeout: 0 })).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    // Orders get the last 2.
    await pool.request({ path: '/order', method: 'POST', priority: 'order' });
    await pool.request({ path: '/order', method: 'POST', priority: 'order' });
    await expect(pool.request({ path: '/order', method: 'POST', priority: 'order', timeout: 0 })).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    expect(server.requests).toBe(10);
  });

  it('under contention, waiters are served by priority, then first come first served', async () => {
    const clock = new SimulatedClock();
    const governor = new Governor({ windows: [{ weight: 2, per: 1_000 }], clock });
    const arrived: string[] = [];
    const server = await startHttpServer((req, res) => {
      arrived.push(req.url!);
      res.end('ok');
    });
    const pool = await openPool({ url: server.url, connections: 4, governor });
    await pool.request({ path: '/first' });
    await pool.request({ path: '/second' });
    arrived.length = 0;
    const calls = [
      pool.request({ path: '/bg1', priority: 'background', timeout: 10_000 }),
      pool.request({ path: '/n1', timeout: 10_000 }),
      pool.request({ path: '/bg2', priority: 'background', timeout: 10_000 }),
      pool.request({ path: '/o1', priority: 'order', timeout: 10_000 }),
      pool.request({ path: '/n2', timeout: 10_000 }),
      pool.request({ path: '/o2', priority: 'order', timeout: 10_000 }),
    ];
    await settle();
    expect(governor.stats().waiting).toEqual({ order: 2, normal: 2, background: 2 });
    // Each second the window frees 2.
    for (let second = 0; second < 3; second++) {
      clock.increment(1_000);
      await settle();
      expect(arrived.length).toBe(2 * (second + 1));
    }
    await Promise.all(calls);
    expect(arrived.slice(0, 2).sort()).toEqual(['/o1', '/o2']);
    expect(arrived.slice(2, 4).sort()).toEqual(['/n1', '/n2']);
    expect(arrived.slice(4, 6).sort()).toEqual(['/bg1', '/bg2']);
  });

  it('a new caller does not jump a waiter of its own priority, even when its smaller weight would fit; an order may', async () => {
    const clock = new SimulatedClock();
    const governor = new Governor({ windows: [{ weight: 5, per: 1_000 }], clock });
    const server = await startHttpServer();
    const pool = await openPool({ url: server.url, connections: 2, governor });
    await pool.request({ path: '/', weight: 4 });
    // Needs 3, 1 is left: it waits, at the head of the normal queue.
    const heavy = pool.request({ path: '/heavy', weight: 3, timeout: 10_000 });
    await settle();
    expect(governor.stats().waiting.normal).toBe(1);
    // Weight 1 would fit, but it would take what the waiter ahead of it is waiting for.
    await expect(pool.request({ path: '/light', weight: 1, timeout: 0 })).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    expect(() => pool.tryAcquire()).toThrow(/rate limited/);
    // An order is served ahead of normal waiters: it takes the 1 at once.
    await pool.request({ path: '/order', method: 'POST', priority: 'order', timeout: 0 });
    expect(server.requests).toBe(2);
    clock.increment(1_000);
    await heavy;
    expect(server.requests).toBe(3);
  });
});
