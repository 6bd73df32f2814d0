/**
 * Case 4: feeds. Messages per second through `feed.on('message')` and
 * `feed.messages()` against a bare ws client on the bench server, and the time
 * from a server restart until every subscription is re-sent.
 */
import { startFaultWsServer } from '../../src/testing/index.js';
import type { BenchCase } from '../lib/case.js';
import { compareRates, rateColumns, rateRow, ratioOf } from '../lib/compare.js';
import { alternate } from '../lib/rounds.js';
import { summarize } from '../lib/stats.js';
import { BARE_WS, FEED_ITERATOR, FEED_ON, openReceivers } from './feed-delivery.js';
import { resubscribeTime, SUBSCRIPTIONS } from './feed-restart.js';

export const feedsCase: BenchCase = {
  name: 'feeds',
  title: 'Feeds',
  async run(context) {
    const { rounds, feedMessages, healingRounds, downMs } = context.settings;
    const receivers = await openReceivers(context.server.wsUrl);
    let rates: Map<string, number[]>;
    try {
      rates = await alternate(receivers, rounds, (r) => r.blast(feedMessages));
    } finally {
      for (const r of receivers) await r.close();
    }
    const compared = compareRates(rates, BARE_WS);
    context.table({
      title: `delivery: ${feedMessages.toLocaleString('en-US')} text messages of ~100 B per round, one connection`,
      columns: rateColumns('receiver', 'msg/s'),
      rows: compared.map(rateRow),
    });
    for (const name of [FEED_ON, FEED_ITERATOR]) {
      const ratio = ratioOf(compared, name);
      context.target({
        name: `feed delivery: ${name.replace('lifeline ', '')}`,
        goal: '>= 0.90x a bare ws client',
        measured: `${ratio.toFixed(2)}x`,
        pass: ratio >= 0.9,
      });
    }

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
