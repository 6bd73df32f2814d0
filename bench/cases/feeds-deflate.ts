/**
 * Case: feed delivery with permessage-deflate (issue 16). The receivers of the feeds case, each
 * negotiating permessage-deflate with the bench server's /deflate path, which sends every ~100 B
 * message compressed on its own: messages per second through `feed.on('message')` and
 * `feed.messages()` against a bare ws client with `perMessageDeflate: true`, alternated in this
 * one process. Inflating each message is the client's main cost here, on both sides.
 */
import type { BenchCase } from '../lib/case.js';
import { measureDelivery } from './feed-delivery.js';

/**
 * ws inflates each message on zlib's thread pool: about 6,000 msg/s here against some 300,000 plain.
 * Rounds of this many times fewer messages than the plain case's keep a round to a few seconds.
 */
const MESSAGES_DIVISOR = 20;

export const feedsDeflateCase: BenchCase = {
  name: 'feeds-deflate',
  title: 'Feeds with permessage-deflate',
  async run(context) {
    const messages = Math.round(context.settings.feedMessages / MESSAGES_DIVISOR);
    const title = `delivery with permessage-deflate: ${messages.toLocaleString('en-US')} compressed text messages of ~100 B per round, one connection`;
    await measureDelivery(context, `${context.server.wsUrl}/deflate`, true, messages, title);
  },
};
