/**
 * The three clients of the http2 case, each GET / with `connections` connections over TLS to an
 * `H2Venue`, trusting its certificate through `ca`, and each ending a request with the whole body in
 * memory. Every one may carry up to STREAMS requests at once on a connection:
 *
 * - lifeline h2: `protocol: 'http2'`, `http2.maxConcurrentStreams` STREAMS (its default);
 * - undici's Pool with `allowH2` (the reference): undici's TLS connector offers ALPN h2. Its Client
 *   lets `pipelining` requests run at once on a connection, HTTP/2 or not, and `pipelining`
 *   defaults to 1 (client.js: `this[kPipelining] = pipelining != null ? pipelining : 1`; HTTP/2's
 *   `defaultPipelining: Infinity` is reached only through a null): with the defaults it runs one
 *   stream per connection. It is given STREAMS, as its own H2CClient does with its `pipelining`;
 * - lifeline h1: HTTP/1.1 (ALPN http/1.1), one request per connection at a time.
 *
 * The reload row (issue 19: zero failed requests across nginx reloads) opens these same clients on a
 * venue of nginx's.
 */
import { Pool } from 'undici';
import { ClientPool } from '../../src/index.js';
import type { H2Venue } from '../lib/h2-server.js';

/** Streams one connection may carry at once, in every client (lifeline's default; the server allows 128). */
export const STREAMS = 100;

export const LIFELINE_H2 = 'lifeline h2 pool.request';
export const UNDICI_H2 = 'undici Pool allowH2';
export const LIFELINE_H1 = 'lifeline h1 pool.request';

export interface H2Client {
  name: string;
  /** What the server must have served this client's requests over: a fallback is an error, not a figure. */
  protocol: 'h2' | 'h1';
  send(): Promise<unknown>;
  close(): Promise<void>;
}

/** GET / answered with a status other than 200 fails the request: the case counts requests as served. */
class StatusError extends Error {
  readonly code: string;
  constructor(status: number) {
    super(`HTTP ${status}`);
    this.code = `HTTP_${status}`;
  }
}

export async function openHttp2Clients(venue: H2Venue, connections: number): Promise<H2Client[]> {
  const tls = { ca: venue.ca };
  // A wait for a stream is part of the latency measured, never a failure: no acquire deadline.
  const h2 = await ClientPool.connect({ url: venue.h2Origin, protocol: 'http2', connections, tls, acquireTimeout: 60_000, http2: { maxConcurrentStreams: STREAMS } });
  const h1 = await ClientPool.connect({ url: venue.h1Origin, connections, tls, acquireTimeout: 60_000 });
  const undici = new Pool(venue.h2Origin, { connections, allowH2: true, pipelining: STREAMS, connect: { ca: venue.ca } });
  return [
    {
      name: LIFELINE_H2,
      protocol: 'h2',
      send: async () => {
        const res = await h2.request({ path: '/' });
        if (res.status !== 200) throw new StatusError(res.status);
      },
      close: () => h2.close(),
    },
    {
      name: UNDICI_H2,
      protocol: 'h2',
      send: async () => {
        const res = await undici.request({ path: '/', method: 'GET' });
        await res.body.arrayBuffer();
        if (res.statusCode !== 200) throw new StatusError(res.statusCode);
      },
      close: () => undici.close(),
    },
    {
      name: LIFELINE_H1,
      protocol: 'h1',
      send: async () => {
        const res = await h1.request({ path: '/' });
        if (res.status !== 200) throw new StatusError(res.status);
      },
      close: () => h1.close(),
    },
  ];
}
