/**
 * How long a feed takes, once its server listens again after a restart, until
 * every subscription has been re-sent on the new connection (seen by the
 * server). A fresh feed per round, so each round starts from a stable feed.
 * The fault server runs in this process, so the restart and the arrival of
 * the last subscription are timed on one clock.
 */
import { Feed } from '../../src/index.js';
import type { FaultWsServer } from '../../src/testing/index.js';
import { sleep, waitUntil } from '../lib/wait.js';

export const SUBSCRIPTIONS = 10;

/** ms from listening again until the new connection carried all SUBSCRIPTIONS subscriptions. */
export async function resubscribeTime(server: FaultWsServer, downMs: number): Promise<number> {
  const subscriptions = Array.from({ length: SUBSCRIPTIONS }, (_, i) => JSON.stringify({ method: 'SUBSCRIBE', params: [`s${i}@trade`], id: i }));
  const feed = Feed.connect({ url: server.url, subscriptions });
  try {
    await waitUntil(() => feed.state === 'healthy', 5_000, 'a feed to connect');
    await server.stop();
    await sleep(downMs);
    const opened = server.received.length;
    await server.restart();
    const listening = performance.now();
    const resubscribed = await waitUntil(
      () => server.received.length > opened && server.received.at(-1)!.length >= SUBSCRIPTIONS,
      10_000,
      'a feed to re-subscribe',
    );
    return resubscribed - listening;
  } finally {
    await feed.close();
  }
}
