/**
 * `pool.setOrigins(urls)`: a pool's server list replaced at runtime, as a venue
 * publishes a new one. Real servers on loopback, one per origin, each answering
 * with its name. Free connections to an origin that is gone move at once, leased
 * ones once released; no request fails and nothing counts as a failure; an origin
 * in both lists keeps its recent failures.
 */
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { HOMING_INTERVAL, OriginAssignment } from '../../src/pool/origins.js';
import { startHttpServer } from '../helpers/http-server.js';
import { openPool, waitFor } from '../helpers/pool.js';

const named = (name: string) => startHttpServer((_req, res) => res.end(name));

describe('pool.setOrigins', () => {
  it('moves every connection to the new list: free ones at once, a leased one once released, nothing failed', async () => {
    const [a, b, c] = await Promise.all([named('a'), named('b'), named('c')]);
    const pool = await openPool({ urls: [a.url, b.url], connections: 4 });
    const leased = await pool.acquire();
    const leasedOnA = pool.slotOrigins()[leased.slot] === 0;

    pool.setOrigins([b.url, c.url]);
    expect(pool.origins).toEqual([new URL(b.url).origin, new URL(c.url).origin]);
    // The request on the lease in hand still goes out on its own connection, wherever it is.
    expect(['a', 'b']).toContain((await leased.request({ path: '/' })).text());
    leased.release();

    // Off `a` at once (the leased one once released); then home (slot i on origin i mod 2), one
    // probe first to the origin no slot has proven yet, the rest at the next homing ticks.
    await waitFor(
      () => a.sockets.size === 0 && pool.stats().healthy === 4 && pool.slotOrigins().join() === '0,1,0,1',
      () => ({ a: a.sockets.size, stats: pool.stats(), origins: pool.slotOrigins(), leasedOnA }),
      HOMING_INTERVAL * 5,
    );
    const served = new Set<string>();
    for (let i = 0; i < 12; i++) served.add((await pool.request({ path: '/' })).text());
    expect([...served].sort()).toEqual(['b', 'c']);
    expect(pool.stats()).toMatchObject({ failures: 0, backoffs: 0 });
  });

  it('refuses a bad list with INVALID_OPTIONS naming the item, and changes nothing', async () => {
    const [a, b] = await Promise.all([named('a'), named('b')]);
    const pool = await openPool({ url: `${a.url}/api`, connections: 2 });
    const cases: [unknown, string][] = [
      [[], 'urls'],
      ['http://x', 'urls'],
      [[`${b.url}/other`], 'urls[0]'],
      [[`${b.url}/api`, 'https://127.0.0.1:1/api'], 'urls[1]'],
      [[`http://user:pw@127.0.0.1:${new URL(b.url).port}/api`], 'urls[0]'],
      [[`${b.url}/api?x=1`], 'urls[0]'],
    ];
    for (const [urls, field] of cases) {
      expect(() => pool.setOrigins(urls as string[])).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringContaining(`\`${field}\``) }));
    }
    // A password in a refused URL never shows in the message.
    expect(() => pool.setOrigins([`http://user:s3cr3t@127.0.0.1:1/api`])).toThrow(expect.objectContaining({ message: expect.not.stringContaining('s3cr3t') }));
    expect(pool.origins).toEqual([new URL(a.url).origin]);
    pool.setOrigins([`${b.url}/api`]);
    await waitFor(() => a.sockets.size === 0 && pool.stats().healthy === 2, () => pool.stats());
    expect((await pool.request({ path: '/' })).text()).toBe('b');
  });

  it("pool.dispatcher follows: a request for a new origin goes, one for an origin that is gone is ORIGIN_MISMATCH", async () => {
    const [a, b] = await Promise.all([named('a'), named('b')]);
    const pool = await openPool({ url: a.url, connections: 2 });
    const dispatcher = pool.dispatcher;
    expect(await (await request(`${a.url}/`, { dispatcher })).body.text()).toBe('a');
    pool.setOrigins([b.url]);
    await waitFor(() => a.sockets.size === 0 && pool.stats().healthy === 2, () => pool.stats());
    expect(await (await request(`${b.url}/`, { dispatcher })).body.text()).toBe('b');
    await expect(request(`${a.url}/`, { dispatcher })).rejects.toMatchObject({ code: 'ORIGIN_MISMATCH' });
  });

  it('throws POOL_CLOSED once the pool is closed', async () => {
    const a = await named('a');
    const pool = await openPool({ url: a.url, connections: 1 });
    await pool.close();
    expect(() => pool.setOrigins([a.url])).toThrow(expect.objectContaining({ code: 'POOL_CLOSED' }));
  });
});

describe('OriginAssignment.replace', () => {
  it('keeps the recent failures of an origin in both lists, under its new index', () => {
    let now = 0;
    const assignment = new OriginAssignment(2, 2, () => now);
    // Origin 1 fails twice: slot 1 (home 1) fails over to origin 0, the one with fewer failures.
    assignment.choose(1);
    assignment.failed(1, 1);
    assignment.choose(1);
    assignment.failed(1, 1);
    expect(assignment.choose(1)).toBe(0);
    // New list [old 1, new]: old 1 keeps its two failures as origin 0; slot 0 was on old 0, gone: it moves home.
    assignment.replace(2, [-1, 0]);
    expect(assignment.returning()).toEqual([0, 1]);
    expect(assignment.choose(0)).toBe(0);
    // Slot 1 (home: the new origin 1) fails there twice and compares: origin 0 has as many recent
    // failures (old 1's two, kept), so it stays home. Had they been forgotten, it would move to 0.
    expect(assignment.choose(1)).toBe(1);
    assignment.failed(1, 1);
    assignment.choose(1);
    assignment.failed(1, 1);
    expect(assignment.choose(1)).toBe(1);
  });
});
