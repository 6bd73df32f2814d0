/**
 * Secrets never leave: known secrets in default headers, in a URL's
 * credentials and in a feed URL's query appear nowhere lifeline produces:
 * recorded history, summaries, stats, error messages, and what `console.log`
 * (util.inspect) or JSON.stringify show of a pool, a feed or an error.
 */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ClientPool, Feed, isLifelineError } from '../../src/index.js';
import { isSecretName, MAX_REMEMBERED_SECRETS, REDACTED, Redactor, urlSecrets } from '../../src/redact.js';
import { poolRecorder, poolRequestDefaults } from '../../src/pool/client-pool.js';
import { feedRecorder } from '../../src/feed/feed.js';
import { logFeed, logSlot } from '../../src/testing/index.js';
import { startHttpServer } from '../helpers/http-server.js';
import { openPool } from '../helpers/pool.js';
import { openFeed, waitForState } from '../helpers/feed.js';
import { startWsServer } from '../helpers/ws-server.js';
import { startWsVenue } from '../helpers/ws-venue.js';
import { waitFor } from '../helpers/pool.js';

const SECRETS = {
  apiKey: 'k3y-SECRET-0001',
  bearer: 'tok-SECRET-0002',
  desk: 'desk-SECRET-0003',
  password: 'pw-SECRET-0004',
  token: 'tk-SECRET-0005',
  cookie: 'ck-SECRET-0006',
};

function expectNoSecret(produced: unknown[]): void {
  const text = produced.map((item) => (typeof item === 'string' ? item : JSON.stringify(item))).join('\n');
  expect(text.length).toBeGreaterThan(0);
  for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret);
}

/** The messages of an error and of every cause lifeline itself created. */
function messages(error: unknown): string[] {
  const out: string[] = [];
  for (let e = error; e instanceof Error; e = e.cause) if (isLifelineError(e)) out.push(e.message, e.stack ?? '');
  return out;
}

describe('redaction', () => {
  it('a pool: history, summaries, stats and error messages never carry a header secret or the URL password', async () => {
    const server = await startHttpServer((req, res) => {
      // A hostile server that echoes what it was sent: its words are not lifeline's to scrub, but its
      // request headers prove the secrets were really sent.
      res.end(JSON.stringify(req.headers));
    });
    const url = server.url.replace('http://', `http://trader:${SECRETS.password}@`);
    const pool = await openPool({
      url,
      connections: 2,
      headers: { 'x-api-key': SECRETS.apiKey, authorization: `Bearer ${SECRETS.bearer}`, 'x-desk': SECRETS.desk },
      secretHeaders: ['X-Desk'],
      history: 100,
      backoff: { initial: 1, max: 5 },
    });
    const echoed = (await pool.request({ path: '/' })).text();
    expect(echoed).toContain(SECRETS.apiKey);
    expect(echoed).toContain(SECRETS.desk);

    const produced: unknown[] = [];
    server.resetAll();
    await logSlot(pool, 0).next();
    await server.refuse();
    const failed = await ClientPool.connect({ url, headers: { 'x-api-key': SECRETS.apiKey }, connections: 1 }).catch((e: unknown) => e);
    expect(isLifelineError(failed) && failed.code).toBe('CONNECT_FAILED');
    produced.push(...messages(failed));
    server.blackHole();
    await server.accept();
    const timedOut = await pool.request({ path: `/x`, timeout: 1 }).catch((e: unknown) => e);
    produced.push(...messages(timedOut));
    produced.push(pool.history(), poolRecorder(pool)!.summaries(), pool.stats(), pool.origin);
    expect(pool.history().length).toBeGreaterThan(0);
    expectNoSecret(produced);
  });

  it('a feed: history, stats and errors never carry the URL token or a header secret', async () => {
    const server = await startWsServer();
    const feed = openFeed({
      url: `${server.url}/stream?token=${SECRETS.token}`,
      headers: { cookie: `session=${SECRETS.cookie}` },
      subscriptions: ['s'],
      backoff: { initial: 1, max: 5 },
    });
    const errors: unknown[] = [];
    feed.on('error', (error) => errors.push(...messages(error)));
    const log = logFeed(feed);
    expect(await log.next()).toBe('healthy');
    server.dropAll();
    expect(await log.next()).toBe('poisoned');
    const notLive = await feed.send('x').catch((e: unknown) => e);
    const bad = (() => {
      try {
        Feed.connect({ url: `http://user:${SECRETS.password}@127.0.0.1:1/?token=${SECRETS.token}` });
      } catch (error) {
        return error;
      }
    })();
    expect(isLifelineError(bad) && bad.code).toBe('INVALID_OPTIONS');
    expectNoSecret([feed.history(), feedRecorder(feed)!.summaries(), feed.stats(), ...errors, ...messages(notLive), ...messages(bad)]);
  });
});

describe('redaction of what providers return', () => {
  it("a feed's provided URL and headers: no secret in stats, history, errors, or any event an XState inspector sees", async () => {
    const venue = await startWsVenue({
      // The first connect is refused (an error that names the URL), the rest accepted.
      verifyClient: (_info, accept) => accept(venue.upgrades.length + refused++ > 0, 401),
    });
    let refused = 0;
    const feed = openFeed({
      url: async () => `${venue.url}/user?listenKey=${SECRETS.token}&signature=${SECRETS.apiKey}`,
      headers: async () => ({ authorization: `Bearer ${SECRETS.bearer}`, 'x-desk': SECRETS.desk }),
      secretHeaders: ['x-desk'],
      subscriptions: ['s'],
      backoff: { initial: 1, max: 5 },
    });
    // Attached before the first provider call (a turn later): it sees every event that could carry what they return.
    const inspected: string[] = [];
    feed.actor.system.inspect((event) => inspected.push(inspect(event, { depth: 5 })));
    const errors: unknown[] = [];
    feed.on('error', (error) => errors.push(...messages(error), inspect(error, { depth: 5 })));
    await waitForState(feed, 'healthy');
    venue.dropAll();
    await waitFor(() => venue.upgrades.length === 2 && feed.state === 'healthy', () => feed.stats());
    // The venue got the real values.
    expect(venue.upgrades[0]!.path).toContain(SECRETS.token);
    expect(venue.upgrades[0]!.headers.authorization).toBe(`Bearer ${SECRETS.bearer}`);
    expect(errors.length).toBeGreaterThan(0);
    expect(inspected.length).toBeGreaterThan(10);
    expect(feed.stats().url).toBe(venue.url);
    expectNoSecret([...inspected, feed.history(), feedRecorder(feed)!.summaries(), feed.stats(), ...errors, inspect(feed.actor, { depth: 6 })]);
  });
});

describe('redaction in util.inspect and JSON.stringify', () => {
  it('console.log of a pool, a feed, their actors and their errors shows no secret, while the real values are still sent', async () => {
    const server = await startHttpServer((req, res) => res.end(JSON.stringify(req.headers)));
    const venue = await startWsServer();
    const url = server.url.replace('http://', `http://trader:${SECRETS.password}@`);
    const headers = { 'x-api-key': SECRETS.apiKey, authorization: `Bearer ${SECRETS.bearer}` };
    const pool = await openPool({ url, connections: 1, headers, history: 10 });
    const feed = openFeed({ url: `${venue.url}/s?token=${SECRETS.token}`, headers: { cookie: `session=${SECRETS.cookie}` } });
    await waitForState(feed, 'healthy');
    // Scrubbed only in what is shown: the server still receives the real values.
    expect((await pool.request({ path: '/' })).text()).toContain(SECRETS.apiKey);
    expect(venue.acceptedAt.length).toBe(1);

    await server.stop();
    await venue.stop();
    const errors = [
      await ClientPool.connect({ url, headers, connections: 1 }).catch((e: unknown) => e),
      await pool.request({ path: '/', timeout: 50 }).catch((e: unknown) => e),
      await feed.send('x').catch((e: unknown) => e),
    ];
    for (const error of errors) expect(isLifelineError(error), String(error)).toBe(true);

    const basic = Buffer.from(`trader:${SECRETS.password}`).toString('base64');
    // Depth 6 reaches the actors' context and their input (where a feed's URLs live) and the errors' causes.
    const shown = [pool, feed, pool.actor, feed.actor, poolRequestDefaults(pool), ...errors].map((value) => inspect(value, { depth: 6 }));
    shown.push(JSON.stringify(errors), JSON.stringify(poolRequestDefaults(pool)), JSON.stringify(feed.actor.getSnapshot().context.urls));
    // While it dials, the feed's invoked `open` actor is in the tree too, with its input: seen the
    // moment the feed enters `connecting` (a refused dial leaves it within a turn).
    shown.push(
      await new Promise<string>((resolve) => {
        const watch = (state: string) => {
          if (state !== 'connecting') return;
          feed.off('state', watch);
          resolve(inspect(feed.actor, { depth: 6 }));
        };
        feed.on('state', watch);
      }),
    );
    expectNoSecret(shown);
    for (const text of shown) expect(text).not.toContain(basic);
    // The scrubbed view still shows what is there: the header names, with the values replaced.
    expect(inspect(poolRequestDefaults(pool))).toContain(`'x-api-key', '${REDACTED}'`);
  });
});

describe('Redactor', () => {
  it('replaces every occurrence of every secret, the longest first', () => {
    const redactor = new Redactor(['abcd', 'abcdef', 'xyz']);
    expect(redactor.text('k=abcdef, j=abcd, abcdabcd')).toBe(`k=${REDACTED}, j=${REDACTED}, ${REDACTED}${REDACTED}`);
    // Too short to be a secret: scrubbing it would mangle ordinary text.
    expect(redactor.text('xyz')).toBe('xyz');
  });

  it('remembers secrets learnt after connect (a provider\'s), only the newest MAX_REMEMBERED_SECRETS', () => {
    const redactor = new Redactor(['fixed-secret']);
    for (let i = 0; i < MAX_REMEMBERED_SECRETS + 6; i++) redactor.remember([`key-${String(i).padStart(4, '0')}`]);
    const newest = `key-${String(MAX_REMEMBERED_SECRETS + 5).padStart(4, '0')}`;
    expect(redactor.text(`${newest} key-0006 key-0005 fixed-secret`)).toBe(`${REDACTED} ${REDACTED} key-0005 ${REDACTED}`);
  });

  it('knows secret names and the secret parts of a URL', () => {
    for (const name of ['authorization', 'Cookie', 'x-api-key', 'X-MBX-APIKEY', 'access_token', 'client-secret', 'signature', 'CB-ACCESS-PASSPHRASE', 'OK-ACCESS-SIGN', 'sign']) {
      expect(isSecretName(name), name).toBe(true);
    }
    for (const name of ['content-type', 'accept', 'x-request-id', 'x-design', 'signal', 'assign']) expect(isSecretName(name), name).toBe(false);
    expect(isSecretName('x-desk', new Set(['x-desk']))).toBe(true);
    // The password both as written (what a library echoing the URL prints) and decoded (what is sent).
    expect(urlSecrets('wss://u:p%40ss@h/x?token=t1&symbol=BTC&signature=s1').sort()).toEqual(['p%40ss', 'p@ss', 's1', 't1', 'u'].sort());
    // A malformed escape is a secret as written, not a crash.
    expect(urlSecrets('wss://u:%E0%A4%A@h/')).toEqual(['u', '%E0%A4%A']);
  });
});
