/**
 * What an XState inspector sees of a pool holds no secret. Machine input and
 * snapshots are exactly what inspection events carry, and the pool passes its
 * resolved supervisor options to its machine as they are: so they must hold no
 * URL credential, no header value and no TLS key, and neither may anything a
 * slot or the ledger keeps in its context.
 */
import { once } from 'node:events';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { ClientPool } from '../../src/index.js';
import { TEST_CERT, TEST_KEY } from '../fixtures/tls.js';
import { waitFor } from '../helpers/pool.js';

const TOKEN = 'Bearer tok-3f9a1c7e';
const API_KEY = 'key-77d0b2e4';
const PASSWORD = 'pw-51c8e0aa';
/** A line from the middle of the private key: it would show in any rendering of the key. */
const KEY_LINE = TEST_KEY.split('\n')[3]!;

describe('machine input and snapshots (what an inspector sees)', () => {
  it('hold no credential, header value or TLS key, while slots heal', async () => {
    const server = https.createServer({ cert: TEST_CERT, key: TEST_KEY }, (_req, res) => res.end('ok'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    onTestFinished(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });
    const { port } = server.address() as AddressInfo;
    const pool = await ClientPool.connect({
      url: `https://user:${PASSWORD}@127.0.0.1:${port}`,
      connections: 2,
      headers: { authorization: TOKEN, 'x-api-key': API_KEY },
      tls: { ca: TEST_CERT, cert: TEST_CERT, key: TEST_KEY },
    });
    onTestFinished(() => pool.close());

    const seen: InspectionEvent[] = [];
    pool.actor.system.inspect((event) => void seen.push(event));
    expect((await pool.request({ path: '/' })).status).toBe(200);
    // Every connection ends: each slot heals, and inspection sees it all.
    server.closeAllConnections();
    await waitFor(() => pool.stats().dials >= 4 && pool.stats().healthy === 2, () => pool.stats());
    expect(seen.some((event) => event.type === '@xstate.snapshot')).toBe(true);

    const context = pool.actor.getSnapshot().context;
    const rendered = [
      inspect(context.options, { depth: 8 }),
      inspect(context.ledger.getSnapshot().context, { depth: 4 }),
      ...context.slots.map((slot) => inspect(slot.getSnapshot().context, { depth: 4 })),
      ...seen.map((event) => inspect(event, { depth: 6 })),
    ].join('\n');
    for (const secret of [TOKEN, API_KEY, PASSWORD, KEY_LINE]) expect(rendered).not.toContain(secret);
  });
});
