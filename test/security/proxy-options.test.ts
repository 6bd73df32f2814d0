/**
 * The `proxy` option of pools and feeds: checked once at connect (INVALID_OPTIONS naming
 * `proxy`, never echoing the URL), and its credentials kept as secrets: registered with
 * the redactor (the by-value net of redact.ts), and invisible in the resolved options.
 */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ClientPool, Feed, isLifelineError, type ClientPoolOptions, type FeedOptions } from '../../src/index.js';
import { resolveFeedOptions } from '../../src/feed/options.js';
import { resolvePoolOptions } from '../../src/pool/options.js';
import { REDACTED } from '../../src/redact.js';
import { thrown } from '../helpers/errors.js';

const PASSWORD = 'pw-2b7e1f90';

const REFUSED: [string, unknown, string][] = [
  ['a number', 8080, 'Expected `proxy` to be an http:// URL string, got 8080 (number)'],
  ['an object', { host: '127.0.0.1', port: 8080 }, 'Expected `proxy` to be an http:// URL string, got an object'],
  ['not a URL', 'proxy:8080', 'Expected `proxy` to be an http:// URL, got a proxy: URL'],
  ['an https:// proxy', 'https://127.0.0.1:8443', 'Expected `proxy` to be an http:// URL, got a https: URL'],
  ['a socks5:// proxy', 'socks5://127.0.0.1:1080', 'Expected `proxy` to be an http:// URL, got a socks5: URL'],
  ['a path', 'http://127.0.0.1:8080/proxy', 'Expected `proxy` to be an http:// URL without path, query or fragment (scheme://host:port), got one with them'],
  ['a query', `http://127.0.0.1:8080/?token=${PASSWORD}`, 'Expected `proxy` to be an http:// URL without path, query or fragment (scheme://host:port), got one with them'],
  ['malformed credentials', `http://u:%E0%A4%A${PASSWORD}@127.0.0.1:8080`, 'Expected `proxy` to be an http:// URL whose credentials are validly percent-encoded, got malformed ones'],
];

describe('the proxy option', () => {
  it.each(REFUSED)('ClientPool.connect refuses %s', async (_name, proxy, message) => {
    const error = await ClientPool.connect({ url: 'http://127.0.0.1:1', proxy } as unknown as ClientPoolOptions).catch((e: unknown) => e);
    expect(isLifelineError(error, 'INVALID_OPTIONS')).toBe(true);
    expect((error as Error).message).toBe(message);
  });

  it.each(REFUSED)('Feed.connect refuses %s', (_name, proxy, message) => {
    expect(thrown(() => Feed.connect({ url: 'ws://127.0.0.1:1', proxy } as unknown as FeedOptions)).message).toBe(message);
  });

  it('resolves to host, port (80 when left out) and origin; credentials become a hidden Basic authorization', () => {
    const resolved = resolvePoolOptions({ url: 'http://127.0.0.1:1', proxy: `http://user:${PASSWORD}@[::1]` });
    expect(resolved.proxy).toEqual({ origin: 'http://[::1]', host: '::1', port: 80 });
    expect(resolved.proxy?.authorization).toBe(`Basic ${Buffer.from(`user:${PASSWORD}`).toString('base64')}`);
    expect(resolvePoolOptions({ url: 'http://127.0.0.1:1' }).proxy).toBeUndefined();
    expect(resolvePoolOptions({ url: 'http://127.0.0.1:1', proxy: new URL('http://127.0.0.1:3128/') }).proxy).toEqual({
      origin: 'http://127.0.0.1:3128',
      host: '127.0.0.1',
      port: 3128,
      authorization: undefined,
    });
  });

  it.each([
    ['a pool', () => resolvePoolOptions({ url: 'http://127.0.0.1:1', proxy: `http://user%20x:${PASSWORD}%21@127.0.0.1:3128` })],
    ['a feed', () => resolveFeedOptions({ url: 'ws://127.0.0.1:1', proxy: `http://user%20x:${PASSWORD}%21@127.0.0.1:3128` })],
  ])("%s: the password, as given and decoded, and the Basic token are the redactor's secrets, and never rendered", (_name, resolve) => {
    const resolved = resolve();
    const token = Buffer.from(`user x:${PASSWORD}!`).toString('base64');
    const { redactor } = resolved.inspection;
    for (const secret of [`${PASSWORD}%21`, `${PASSWORD}!`, token]) {
      expect(redactor.text(`a library said: ${secret}.`)).toBe(`a library said: ${REDACTED}.`);
    }
    expect(redactor.text(`Proxy-Authorization: Basic ${token}`)).toBe(`Proxy-Authorization: Basic ${REDACTED}`);
    const rendered = `${inspect(resolved, { depth: 8 })}\n${JSON.stringify(resolved.proxy)}`;
    expect(rendered).not.toContain(PASSWORD);
    expect(rendered).not.toContain(token);
  });
});
