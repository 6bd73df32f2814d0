/**
 * The six HTTP clients of the requests case, each sending GET `path` with
 * `connections` keep-alive connections to the bench server. Every one ends a
 * request with the whole body in memory, undecoded (a Buffer or an
 * ArrayBuffer), which is what lifeline's response holds: no client is charged
 * for decoding text that another skips.
 */
import http from 'node:http';
import { Pool } from 'undici';
import { ClientPool } from '../../src/index.js';

export interface HttpClient {
  name: string;
  send(): Promise<unknown>;
  close(): Promise<void>;
}

export const REFERENCE = 'undici Pool.request';
export const LIFELINE_REQUEST = 'lifeline pool.request';

/** undici's callback protocol, the lowest-level API: chunks into one Buffer, no stream, no promise per chunk. */
function dispatch(pool: Pool, path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    pool.dispatch(
      { path, method: 'GET' },
      {
        onConnect() {},
        onHeaders() {
          return true;
        },
        onData(chunk: Buffer) {
          chunks.push(chunk);
          return true;
        },
        onComplete() {
          resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
        },
        onError: reject,
      },
    );
  });
}

function httpGet(agent: http.Agent, port: number, path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

export async function openHttpClients(origin: string, port: number, path: string, connections: number): Promise<HttpClient[]> {
  // A wait for a connection is part of the latency measured, never a failure: no acquire deadline.
  const lifeline = await ClientPool.connect({ url: origin, connections, acquireTimeout: 60_000 });
  const leased = await ClientPool.connect({ url: origin, connections, acquireTimeout: 60_000 });
  const undiciRequest = new Pool(origin, { connections, pipelining: 1 });
  const undiciDispatch = new Pool(origin, { connections, pipelining: 1 });
  // fetch's default dispatcher opens a connection per concurrent request; this one holds it to `connections`.
  const fetchDispatcher = new Pool(origin, { connections, pipelining: 1 });
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const url = `${origin}${path}`;
  return [
    {
      name: LIFELINE_REQUEST,
      send: () => lifeline.request({ path }),
      close: () => lifeline.close(),
    },
    {
      // The hot-path pattern from the README: never wait when a connection is free.
      name: 'lifeline tryAcquire + lease.request',
      send: async () => {
        const lease = leased.tryAcquire() ?? (await leased.acquire());
        try {
          return await lease.request({ path });
        } finally {
          lease.release();
        }
      },
      close: () => leased.close(),
    },
    {
      name: REFERENCE,
      send: async () => {
        const res = await undiciRequest.request({ path, method: 'GET' });
        return res.body.arrayBuffer();
      },
      close: () => undiciRequest.close(),
    },
    {
      name: 'undici Pool.dispatch (floor)',
      send: () => dispatch(undiciDispatch, path),
      close: () => undiciDispatch.close(),
    },
    {
      name: 'fetch',
      send: async () => {
        // Node's own fetch accepts an undici dispatcher; its RequestInit type does not declare it.
        const res = await fetch(url, { dispatcher: fetchDispatcher } as unknown as RequestInit);
        return res.arrayBuffer();
      },
      close: () => fetchDispatcher.close(),
    },
    {
      name: 'node:http keep-alive Agent',
      send: () => httpGet(agent, port, path),
      close: async () => agent.destroy(),
    },
  ];
}
