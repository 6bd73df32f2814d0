/**
 * Case 4: feeds. Messages per second through `feed.on('message')` and
 * `feed.messages()` against a bare ws client on the bench server, and the time
 * from a server restart until every subscription is re-sent.
 */
import { startFaultWsServer } from '../../src/testing/index.js';
import type { BenchCase } from '../lib/case.js';
import { summarize } from '../lib/stats.js';
import { measureDelivery } from './feed-delivery.js';
import { resubscribeTime, SUBSCRIPTIONS } from './feed-restart.js';

export const feedsCase: BenchCase = {
  name: 'feeds',
  title: 'Feeds',
  async run(context) {
    const { feedMessages, healingRounds, downMs } = context.settings;
    const title = `delivery: ${feedMessages.toLocaleString('en-US')} text messages of ~100 B per round, one connection`;
    await measureDelivery(context, context.server.wsUrl, false, feedMessages, title);

    const server = await startFaultWsServer();
    const times: number[] = [];
    try {
      for (let i = 0; i < healingRounds; i++) times.push(await resubscribeTime(server, downMs));
    } finally {
      await server.close();
    }
    const s = summarize(times);
    context.table({
      title: `restart: server down ${downMs} ms, then listening again`,
      note: `Time from listening again until all ${SUBSCRIPTIONS} subscriptions arrived on the new connection; ${healingRounds} round(s), a fresh feed each, default backoff (100 ms doubling, full jitter, first retry included).`,
      columns: [
        { key: 'contender', label: 'feed', format: 'text' },
        { key: 'median', label: 'ms median', format: 'num' },
        { key: 'min', label: 'min', format: 'num' },
        { key: 'max', label: 'max', format: 'num' },
      ],
      rows: [{ contender: 'lifeline Feed', median: s.median, min: s.min, max: s.max, samples: s.samples }],
    });
  },
};
