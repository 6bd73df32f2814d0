/**
 * Options are checked once at connect(): a wrong one throws INVALID_OPTIONS
 * saying what was expected and what came, before anything is dialed.
 */
import { describe, expect, it } from 'vitest';
import { ClientPool, isLifelineError, type ClientPoolOptions } from '../../src/index.js';
import { POOL_OPTION_KEYS } from '../../src/pool/options.js';

async function connectError(options: unknown): Promise<Error> {
  const error = await ClientPool.connect(options as ClientPoolOptions).catch((e: unknown) => e);
  expect(isLifelineError(error, 'INVALID_OPTIONS')).toBe(true);
  return error as Error;
}

describe('options', () => {
  it.each([
    [undefined, 'Expected `options` to be an object with `url` or `urls`, got undefined'],
    [{}, 'Expected `url` to be an http:// or https:// URL string, got undefined'],
    [{ url: 'not a url' }, 'Expected `url` to be an http:// or https:// URL string, got a string of 9 characters'],
    [{ url: 'ftp://x' }, 'Expected `url` to be an http:// or https:// URL, got a ftp: URL'],
    [{ url: 'http://x/?a=1' }, 'Expected `url` to be a URL without query or fragment, got a URL with one'],
    [{ url: 'http://x', connections: 0 }, 'Expected `connections` to be an integer from 1 to 1024, got 0 (number)'],
    [{ url: 'http://x', connections: 2.5 }, 'Expected `connections` to be an integer from 1 to 1024, got 2.5 (number)'],
    [{ url: 'http://x', connections: '4' }, 'Expected `connections` to be an integer from 1 to 1024, got a string of 1 characters'],
    [{ url: 'http://x', connectTimeout: -1 }, 'Expected `connectTimeout` to be an integer from 1 to 2147483647, got -1 (number)'],
    [{ url: 'http://x', maxBodySize: Number.NaN }, 'Expected `maxBodySize` to be an integer from 0 to 9007199254740991, got NaN (number)'],
    [{ url: 'http://x', noDelay: 'yes' }, 'Expected `noDelay` to be a boolean, got a string of 3 characters'],
    [{ url: 'http://x', backoff: { jitter: 'some' } }, "Expected `backoff.jitter` to be one of 'full', 'equal', 'none', got a string of 4 characters"],
    [{ url: 'http://x', backoff: { initial: 500, max: 100 } }, 'Expected `backoff.max` to be an integer from 500 to 9007199254740991, got 100 (number)'],
    [{ url: 'http://x', backoff: { delay: 5 } }, 'Expected `backoff.delay` to be a function, got 5 (number)'],
    [{ url: 'http://x', headers: 'x-a: 1' }, 'Expected `headers` to be an object, or [name, value] pairs (an array of pairs, a Map or a Headers), got a string of 6 characters'],
    [{ url: 'http://x', headers: ['x-a', '1'] }, 'Expected `headers[0]` to be a [name, value] pair with a string name, got a string of 3 characters'],
    [{ url: 'http://x', headers: { 'bad name': 'v' } }, 'Expected `headers` names to be HTTP tokens, got an invalid name of 8 characters'],
    [{ url: 'http://x', protocol: 'h2' }, "Expected `protocol` to be one of 'http1', 'http2', 'auto', got a string of 2 characters"],
    [{ url: 'http://x', protocol: 2 }, "Expected `protocol` to be one of 'http1', 'http2', 'auto', got 2 (number)"],
    [{ url: 'http://x', http2: 100 }, 'Expected `http2` to be an object, got 100 (number)'],
    [{ url: 'http://x', http2: { maxConcurrentStreams: 0 } }, 'Expected `http2.maxConcurrentStreams` to be an integer from 1 to 1000, got 0 (number)'],
    [{ url: 'http://x', http2: { pingInterval: -1 } }, 'Expected `http2.pingInterval` to be an integer from 0 to 2147483647, got -1 (number)'],
    [{ url: 'http://x', http2: { pingTimeout: 0 } }, 'Expected `http2.pingTimeout` to be an integer from 1 to 2147483647, got 0 (number)'],
    [{ url: 'http://x', http2: { maxStreams: 4 } }, 'Unknown option `http2.maxStreams`; known options are maxConcurrentStreams, pingInterval, pingTimeout'],
    [{ url: 'http://x', conections: 4 }, `Unknown option \`conections\`; known options are ${POOL_OPTION_KEYS.join(', ')}`],
    [{ url: 'https://x', tls: { rejectUnauthorised: false } }, 'Unknown option `tls.rejectUnauthorised`; known options are ca, cert, key, rejectUnauthorized, servername'],
  ])('%j is refused', async (options, message) => {
    expect((await connectError(options)).message).toBe(message);
  });

  it('a header value with CR or LF is refused at connect, naming the header but not its value', async () => {
    const error = await connectError({ url: 'http://127.0.0.1:1', headers: { 'x-api-key': 'secret-value\r\nx-evil: 1' } });
    expect(error.message).toBe('Expected `headers.x-api-key` to contain no CR, LF or NUL character');
    expect(error.message).not.toContain('secret-value');
  });

  it('a URL with a password is not echoed in errors', async () => {
    const error = await connectError({ url: 'http://user:hunter2@127.0.0.1:1', connections: -1 });
    expect(error.message).not.toContain('hunter2');
    const refused = (await ClientPool.connect({ url: 'http://user:hunter2@127.0.0.1:1', connections: 1 }).catch((e: unknown) => e)) as Error;
    expect(refused.message).not.toContain('hunter2');
    expect(refused).toMatchObject({ code: 'CONNECT_FAILED' });
  });
});
