/**
 * The three receivers of the feed-delivery measurement, on one bench-server
 * WebSocket each: a bare ws client (the reference), `feed.on('message')` and
 * `feed.messages()`. Each asks the server for a blast of N ~100 B text
 * messages and resolves with messages per second once the last one arrived.
 * With permessage-deflate (feeds-deflate.ts), every one of them is inflated.
 */
import { once } from 'node:events';
import WebSocket from 'ws';
import { Feed } from '../../src/index.js';
import type { CaseContext } from '../lib/case.js';
import { compareRates, rateColumns, rateRow, ratioOf } from '../lib/compare.js';
import { alternate } from '../lib/rounds.js';
import { waitUntil } from '../lib/wait.js';

export interface Receiver {
  name: string;
  /** Messages per second for a blast of `n`. */
  blast(n: number): Promise<number>;
  close(): Promise<void>;
}

export const BARE_WS = 'bare ws client';
export const FEED_ON = "lifeline feed.on('message')";
export const FEED_ITERATOR = 'lifeline feed.messages()';

/** Resolves with the rate once `onMessage` has been called `n` times after `start()`. */
function countTo(n: number, listen: (onMessage: () => void) => () => void, start: () => void): Promise<number> {
  return new Promise((resolve) => {
    let got = 0;
    const begun = performance.now();
    const stop = listen(() => {
      if (++got === n) {
        stop();
        resolve(n / ((performance.now() - begun) / 1e3));
      }
    });
    start();
  });
}

async function openFeed(url: string, perMessageDeflate: boolean): Promise<Feed> {
  const feed = Feed.connect({ url, perMessageDeflate });
  await waitUntil(() => feed.state === 'healthy', 5_000, 'a feed to connect');
  return feed;
}

/** A blast that loses messages never completes; past this, the iterator is ended and the run fails. */
const STALL_TIMEOUT = 30_000;

/** The receivers on `url`; with `perMessageDeflate`, each offers the extension (the bench server's /deflate path compresses). */
export async function openReceivers(url: string, perMessageDeflate = false): Promise<Receiver[]> {
  // The same socket options as the feeds'.
  const bare = new WebSocket(url, { perMessageDeflate });
  await once(bare, 'open');
  if (perMessageDeflate && !bare.extensions.includes('permessage-deflate')) throw new Error('bench: the server did not negotiate permessage-deflate');
  const listening = await openFeed(url, perMessageDeflate);
  // The default buffer (1,024): ws hands over at most one 64 KiB read (~640 messages) before the reader's turn.
  const iterated = await openFeed(url, perMessageDeflate);
  return [
    {
      name: BARE_WS,
      blast: (n) =>
        countTo(
          n,
          (onMessage) => {
            // A fair floor: text frames decoded to strings, as the feed does.
            const listener = (data: Buffer, isBinary: boolean) => {
              if (!isBinary) data.toString();
              onMessage();
            };
            bare.on('message', listener);
            return () => bare.off('message', listener);
          },
          () => bare.send(`blast:${n}`),
        ),
      close: async () => {
        bare.close();
        await once(bare, 'close');
      },
    },
    {
      name: FEED_ON,
      blast: (n) =>
        countTo(
          n,
          (onMessage) => {
            listening.on('message', onMessage);
            return () => listening.off('message', onMessage);
          },
          () => void listening.send(`blast:${n}`),
        ),
      close: () => listening.close(),
    },
    {
      name: FEED_ITERATOR,
      async blast(n) {
        const dropped = iterated.stats().dropped;
        const messages = iterated.messages();
        const watchdog = setTimeout(() => void messages.return?.(), STALL_TIMEOUT);
        const begun = performance.now();
        await iterated.send(`blast:${n}`);
        let got = 0;
        for await (const _ of messages) if (++got === n) break;
        const rate = n / ((performance.now() - begun) / 1e3);
        clearTimeout(watchdog);
        if (got < n) throw new Error(`bench: feed.messages() delivered ${got} of ${n} (dropped ${iterated.stats().dropped - dropped})`);
        return rate;
      },
      close: () => iterated.close(),
    },
  ];
}

/**
 * Blasts of `messages` to each receiver on `url`, alternated for the settings' rounds, as a table
 * titled `title` and a target per lifeline receiver (at least 0.90x the bare ws client).
 */
export async function measureDelivery(context: CaseContext, url: string, perMessageDeflate: boolean, messages: number, title: string): Promise<void> {
  const receivers = await openReceivers(url, perMessageDeflate);
  let rates: Map<string, number[]>;
  try {
    rates = await alternate(receivers, context.settings.rounds, (r) => r.blast(messages));
  } finally {
    for (const r of receivers) await r.close();
  }
  const compared = compareRates(rates, BARE_WS);
  context.table({ title, columns: rateColumns('receiver', 'msg/s'), rows: compared.map(rateRow) });
  const deflating = perMessageDeflate ? ', permessage-deflate' : '';
  for (const name of [FEED_ON, FEED_ITERATOR]) {
    const ratio = ratioOf(compared, name);
    context.target({
      name: `feed delivery${deflating}: ${name.replace('lifeline ', '')}`,
      goal: `>= 0.90x a bare ws client${perMessageDeflate ? ' with perMessageDeflate' : ''}`,
      measured: `${ratio.toFixed(2)}x`,
      pass: ratio >= 0.9,
    });
  }
}
