/**
 * The README's listen-key example: a user-data stream whose URL carries a key
 * fetched over REST before every connect (as Binance's userDataStream), the key
 * fetched through a lifeline ClientPool. The venue hands out a fresh key per
 * request and takes each key for one connection only, so a feed that reused a
 * key after a drop would never come back. Imported by package name, as a user would.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { expect, it, onTestFinished } from 'vitest';
import { WebSocketServer } from 'ws';
import { ClientPool, Feed } from 'lifeline-supervisor';
import { logFeed, startFaultHttpServer } from 'lifeline-supervisor/testing';

it('fetches a fresh listen key through a pool before every connect', async () => {
  // The venue: REST issues keys, the stream takes each issued key once (401 otherwise).
  const issued = new Set<string>();
  const rest = await startFaultHttpServer({
    handler: (req, res) => {
      if (req.method !== 'POST' || req.url !== '/api/v3/userDataStream' || req.headers['x-mbx-apikey'] !== 'my-api-key') {
        res.writeHead(401).end();
        return;
      }
      const listenKey = randomUUID();
      issued.add(listenKey);
      res.setHeader('content-type', 'application/json').end(JSON.stringify({ listenKey }));
    },
  });
  onTestFinished(() => rest.close());
  const stream = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    verifyClient: ({ req }, accept) => accept(issued.delete(req.url?.replace('/ws/', '') ?? ''), 401),
  });
  onTestFinished(() => new Promise<void>((resolve) => stream.close(() => resolve())));
  await once(stream, 'listening');
  const streamUrl = `ws://127.0.0.1:${(stream.address() as { port: number }).port}`;
  const paths: string[] = [];
  stream.on('connection', (socket, req) => {
    paths.push(req.url!);
    socket.send(JSON.stringify({ e: 'balanceUpdate', a: 'USDT' }));
  });

  // The client, as in the README.
  const pool = await ClientPool.connect({ url: rest.url, headers: { 'x-mbx-apikey': 'my-api-key' }, connections: 1 });
  onTestFinished(() => pool.close());
  const feed = Feed.connect({
    url: async ({ signal }) => {
      const res = await pool.request({ method: 'POST', path: '/api/v3/userDataStream', signal });
      const { listenKey } = res.json<{ listenKey: string }>();
      return `${streamUrl}/ws/${listenKey}`;
    },
    backoff: { initial: 10, max: 50 },
  });
  onTestFinished(() => feed.close());
  const events: unknown[] = [];
  feed.on('message', (data) => events.push(JSON.parse(data as string)));
  const log = logFeed(feed);

  expect(await log.next()).toBe('healthy');
  for (const client of stream.clients) client.terminate(); // the venue drops the stream
  expect(await log.next()).toBe('poisoned');
  expect(await log.next()).toBe('backoff');
  expect(await log.next()).toBe('connecting');
  expect(await log.next()).toBe('healthy'); // with a new key: the old one is spent

  expect(paths).toHaveLength(2);
  expect(paths[0]).not.toBe(paths[1]);
  await expect.poll(() => events.length).toBe(2);
  // The key is in the URL, and a URL shows as scheme://host:port only.
  expect(feed.stats().url).toBe(streamUrl);
  expect(JSON.stringify(feed.history())).not.toContain(paths[1]!.slice(4));
});
