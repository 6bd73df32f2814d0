/**
 * Sealed texts (src/feed/sealed-text.ts): how a feed's URLs and subscriptions show to JSON,
 * util.inspect and String(), which is all an inspector can read of them, while `reveal()`
 * still gives the socket the real text.
 */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { resolveFeedOptions } from '../../src/feed/options.js';
import { sealMessage, sealUrl } from '../../src/feed/sealed-text.js';

const inspection = () => resolveFeedOptions({ url: 'ws://127.0.0.1:1', secretHeaders: ['X-Desk'] }).inspection;
const shown = (sealed: object) => [JSON.stringify(sealed), inspect(sealed), String(sealed)];

describe('sealed texts', () => {
  it('a URL shows its password and secret query parameters redacted, and reveals itself whole', () => {
    const url = 'wss://user:pw-SEALED-1@venue.example/ws?token=tk-SEALED-2&symbol=btcusdt&x-desk=dk-SEALED-3';
    const sealed = sealUrl(url, inspection());
    expect(sealed.reveal()).toBe(url);
    for (const text of shown(sealed)) {
      expect(text).toContain('venue.example/ws?token=[redacted]&symbol=btcusdt&x-desk=[redacted]');
      expect(text).not.toMatch(/SEALED/);
    }
  });

  it('a JSON message shows the values of its secret-looking fields redacted, nested ones too, and the rest as it is', () => {
    const message = JSON.stringify({ op: 'auth', args: [{ apiKey: 'ak-SEALED-4', passwd: { nested: 'pw-SEALED-5' }, channel: 'orders' }], 'x-desk': 'dk-SEALED-6', __proto__x: 1 });
    const given = inspection();
    const sealed = sealMessage(message, given);
    expect(sealed.reveal()).toBe(message);
    expect(JSON.parse(JSON.stringify(sealed))).toBe('{"op":"auth","args":[{"apiKey":"[redacted]","passwd":"[redacted]","channel":"orders"}],"x-desk":"[redacted]","__proto__x":1}');
    for (const text of shown(sealed)) expect(text).not.toMatch(/SEALED/);
    // The values are secrets the redactor knows from now on: an error that echoes one is scrubbed too.
    expect(given.redactor.text('the venue said: bad key ak-SEALED-4')).toBe('the venue said: bad key [redacted]');
  });

  it('a `__proto__` field stays a field, and is scrubbed like any', () => {
    const sealed = sealMessage('{"__proto__":{"token":"tk-SEALED-7"},"a":1}', inspection());
    expect(JSON.stringify(sealed)).toBe(JSON.stringify('{"__proto__":{"token":"[redacted]"},"a":1}'));
  });

  it('a message that is not JSON is not shown at all, only its length: nothing tells what in it is secret', () => {
    const sealed = sealMessage('AUTH sk-SEALED-8', inspection());
    expect(sealed.reveal()).toBe('AUTH sk-SEALED-8');
    for (const text of shown(sealed)) expect(text).toContain('[a message of 16 characters, not JSON: not shown]');
  });
});
