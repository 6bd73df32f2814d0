/**
 * Scratch (issue 19, step 1): which HTTP/2 engine a slot should use, measured.
 *
 *   npx tsc -p tsconfig.bench.json && node build/bench/tmp-h2-engines.js
 *
 * Part 1 probes what each engine lets the slot see on a pre-dialed socket, h2c with prior
 * knowledge, against node:http2 servers on 127.0.0.1 that send GOAWAY mid-load, refuse a
 * stream, lower their stream limit, and stop answering PING (a TCP relay that freezes).
 * Part 2 measures req/s and client CPU per request, both engines alternated within one run,
 * against a node:http2 server in a child process (so the client has its own core).
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import http2 from 'node:http2';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { Client, H2CClient, type Dispatcher } from 'undici';
import { ClientPool } from '../src/index.js';

const { NGHTTP2_REFUSED_STREAM, NGHTTP2_NO_ERROR } = http2.constants;

function dialSocket(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** undici's Client on a pre-dialed socket, as http-connection.ts binds one; h2c: alpnProtocol set as undici's own useH2c does. */
function undiciOn(socket: net.Socket, port: number, extra: Partial<Client.Options> = {}): Client {
  (socket as net.Socket & { alpnProtocol?: string }).alpnProtocol = 'h2';
  let given = false;
  return new Client(`http://127.0.0.1:${port}`, {
    allowH2: true,
    connect: (_opts, callback) => {
      if (given) return void process.nextTick(callback, new Error('no second connect'), null);
      given = true;
      process.nextTick(callback, null, socket);
    },
    ...extra,
  });
}

function nodeOn(socket: net.Socket, port: number): http2.ClientHttp2Session {
  return http2.connect(`http://127.0.0.1:${port}`, { createConnection: () => socket });
}

interface Result {
  ok: boolean;
  detail: string;
}

/** One GET with undici's dispatch handler protocol (what lifeline's lease uses). */
function undiciGet(client: Client, path: string): Promise<Result> {
  return new Promise((resolve) => {
    let status = 0;
    const handler: Dispatcher.DispatchHandler = {
      onConnect() {},
      onHeaders(s) {
        status = s;
        return true;
      },
      onData() {
        return true;
      },
      onComplete() {
        resolve({ ok: true, detail: String(status) });
      },
      onError(error: Error & { code?: string }) {
        resolve({ ok: false, detail: `${error.code ?? error.name}: ${error.message}` });
      },
    };
    client.dispatch({ path, method: 'GET', headers: [] }, handler);
  });
}

function nodeGet(session: http2.ClientHttp2Session, path: string): Promise<Result> {
  return new Promise((resolve) => {
    const stream = session.request({ ':path': path, ':method': 'GET' });
    let status = 0;
    stream.on('response', (headers) => (status = Number(headers[':status'])));
    stream.on('data', () => {});
    stream.on('end', () => resolve({ ok: true, detail: String(status) }));
    stream.on('error', (error: Error & { code?: string }) => resolve({ ok: false, detail: `${error.code}: ${error.message} (rstCode ${stream.rstCode})` }));
    stream.on('close', () => {
      if (stream.rstCode) resolve({ ok: false, detail: `closed, rstCode ${stream.rstCode}` });
    });
    stream.end();
  });
}

/** An h2c server; `onStream` decides each stream's fate. */
async function h2Server(onStream: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, session: http2.ServerHttp2Session) => void, settings?: http2.Settings) {
  const server = http2.createServer(settings ? { settings } : {});
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    onStream(stream, headers, stream.session as http2.ServerHttp2Session);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as net.AddressInfo).port };
}

function respond(stream: http2.ServerHttp2Stream, after = 0): void {
  const send = () => {
    if (stream.destroyed) return;
    stream.respond({ ':status': 200 });
    stream.end('ok');
  };
  if (after) setTimeout(send, after);
  else send();
}

/** GOAWAY while 4 streams are open, last stream id = the 2nd: the first 2 answer 50 ms later. */
async function probeGoaway(engine: 'undici' | 'node'): Promise<string> {
  let opened = 0;
  const { server, port } = await h2Server((stream, _headers, session) => {
    opened++;
    if (opened <= 2) respond(stream, 50);
    if (opened === 4) session.goaway(NGHTTP2_NO_ERROR, 3); // client stream ids 1, 3, 5, 7
  });
  const socket = await dialSocket(port);
  const seen: string[] = [];
  let results: Result[];
  if (engine === 'undici') {
    const client = undiciOn(socket, port, { pipelining: 10 });
    client.on('disconnect', (_o, _t, error) => seen.push(`disconnect(${error.message})`));
    results = await Promise.all([1, 2, 3, 4].map(() => undiciGet(client, '/')));
    await client.destroy().catch(() => {});
  } else {
    const session = nodeOn(socket, port);
    session.on('goaway', (code, lastStreamID) => seen.push(`goaway(code ${code}, lastStreamID ${lastStreamID})`));
    session.on('error', () => {});
    results = await Promise.all([1, 2, 3, 4].map(() => nodeGet(session, '/')));
    session.destroy();
  }
  server.close();
  return `${results.map((r) => (r.ok ? 'ok' : r.detail)).join(' | ')}; seen: ${seen.join(', ') || 'nothing'}`;
}

/** The 2nd stream is refused (RST_STREAM REFUSED_STREAM). */
async function probeRefused(engine: 'undici' | 'node'): Promise<string> {
  let opened = 0;
  const { server, port } = await h2Server((stream) => {
    if (++opened === 2) stream.close(NGHTTP2_REFUSED_STREAM);
    else respond(stream);
  });
  const socket = await dialSocket(port);
  let results: Result[];
  if (engine === 'undici') {
    const client = undiciOn(socket, port, { pipelining: 10 });
    results = [await undiciGet(client, '/'), await undiciGet(client, '/'), await undiciGet(client, '/')];
    await client.destroy().catch(() => {});
  } else {
    const session = nodeOn(socket, port);
    results = [await nodeGet(session, '/'), await nodeGet(session, '/'), await nodeGet(session, '/')];
    session.destroy();
  }
  server.close();
  return results.map((r) => (r.ok ? 'ok' : r.detail)).join(' | ');
}

/** SETTINGS_MAX_CONCURRENT_STREAMS 5, lowered to 2 after the first request. */
async function probeSettings(engine: 'undici' | 'node'): Promise<string> {
  const { server, port } = await h2Server(
    (stream, _headers, session) => {
      respond(stream);
      session.settings({ maxConcurrentStreams: 2 });
    },
    { maxConcurrentStreams: 5 },
  );
  const socket = await dialSocket(port);
  const seen: string[] = [];
  if (engine === 'undici') {
    const client = undiciOn(socket, port, { pipelining: 10 });
    // No public event or getter: only a symbol-keyed field inside the Client.
    const field = Object.getOwnPropertySymbols(client).find((s) => s.description === 'max concurrent streams');
    seen.push(`public event: none; symbol field before: ${field ? String((client as never)[field]) : 'none'}`);
    await undiciGet(client, '/');
    await new Promise((r) => setTimeout(r, 20));
    seen.push(`after: ${field ? String((client as never)[field]) : 'none'}`);
    await client.destroy().catch(() => {});
  } else {
    const session = nodeOn(socket, port);
    session.on('remoteSettings', (s) => seen.push(`remoteSettings(maxConcurrentStreams ${s.maxConcurrentStreams})`));
    await nodeGet(session, '/');
    await new Promise((r) => setTimeout(r, 20));
    session.destroy();
  }
  server.close();
  return seen.join(', ');
}

/** A relay between client and server that can freeze: the server then answers no PING (TCP stays up). */
async function freezingRelay(target: number) {
  const sockets: net.Socket[] = [];
  let frozen = false;
  const relay = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: target });
    sockets.push(client, upstream);
    client.on('data', (d) => void (frozen || upstream.write(d)));
    upstream.on('data', (d) => void (frozen || client.write(d)));
    client.on('error', () => {});
    upstream.on('error', () => {});
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  relay.listen(0, '127.0.0.1');
  await once(relay, 'listening');
  return {
    port: (relay.address() as net.AddressInfo).port,
    freeze: () => void (frozen = true),
    close: () => {
      for (const s of sockets) s.destroy();
      relay.close();
    },
  };
}

async function probePing(engine: 'undici' | 'node'): Promise<string> {
  const { server, port } = await h2Server((stream) => respond(stream));
  const relay = await freezingRelay(port);
  const socket = await dialSocket(relay.port);
  const seen: string[] = [];
  if (engine === 'undici') {
    const client = undiciOn(socket, relay.port, { pingInterval: 50 });
    client.on('ping' as never, ((d: number) => seen.length < 2 && seen.push(`ping ${d.toFixed(2)} ms`)) as never);
    client.on('disconnect', (_o, _t, error) => seen.push(`disconnect(${error.message})`));
    await undiciGet(client, '/');
    await new Promise((r) => setTimeout(r, 200));
    relay.freeze();
    const before = seen.length;
    await new Promise((r) => setTimeout(r, 500));
    seen.push(`frozen 500 ms (10 intervals): ${seen.length - before} events, socket destroyed: ${socket.destroyed}`);
    await client.destroy().catch(() => {});
  } else {
    const session = nodeOn(socket, relay.port);
    await nodeGet(session, '/');
    const ping = () =>
      new Promise<string>((resolve) => {
        const timer = setTimeout(() => resolve('no ack in 100 ms: poison'), 100);
        session.ping((error, duration) => {
          clearTimeout(timer);
          resolve(error ? `error ${error.message}` : `ack ${duration.toFixed(2)} ms`);
        });
      });
    seen.push(await ping());
    relay.freeze();
    seen.push(`frozen: ${await ping()}`);
    session.destroy();
  }
  relay.close();
  server.close();
  return seen.join(', ');
}

// ---- Part 2: throughput ----

const BODY = Buffer.alloc(64, 'x');

function serveForBench(): void {
  const server = http2.createServer({ settings: { maxConcurrentStreams: 1000 } });
  server.on('stream', (stream) => {
    stream.respond({ ':status': 200, 'content-type': 'text/plain' });
    stream.end(BODY);
  });
  server.listen(0, '127.0.0.1', () => process.send!((server.address() as net.AddressInfo).port));
}

interface Run {
  reqs: number;
  seconds: number;
  cpuUs: number;
}

async function drive(send: () => Promise<unknown>, callers: number, total: number): Promise<Run> {
  let left = total;
  const cpu = process.cpuUsage();
  const start = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (left-- > 0) await send();
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  return { reqs: total, seconds, cpuUs: used.user + used.system };
}

function undiciSend(client: Client): () => Promise<unknown> {
  return () =>
    new Promise<void>((resolve, reject) => {
      client.dispatch(
        { path: '/', method: 'GET', headers: [] },
        {
          onConnect() {},
          onHeaders: () => true,
          onData: () => true,
          onComplete: () => resolve(),
          onError: reject,
        },
      );
    });
}

function nodeSend(session: http2.ClientHttp2Session): () => Promise<unknown> {
  return () =>
    new Promise<void>((resolve, reject) => {
      const stream = session.request({ ':path': '/', ':method': 'GET' }, { endStream: true });
      stream.on('data', () => {});
      stream.on('end', resolve);
      stream.on('error', reject);
    });
}

async function bench(port: number, connections: number, callers: number): Promise<void> {
  const total = 5_000;
  const undiciClients: Client[] = [];
  const sessions: http2.ClientHttp2Session[] = [];
  for (let i = 0; i < connections; i++) {
    undiciClients.push(undiciOn(await dialSocket(port), port, { pipelining: 1000 }));
    sessions.push(nodeOn(await dialSocket(port), port));
  }
  const rr = <T>(list: T[], make: (x: T) => () => Promise<unknown>) => {
    const sends = list.map(make);
    let i = 0;
    return () => sends[i++ % sends.length]!();
  };
  // Lifeline's HTTP/2 pool (this branch), and undici's own h2c clients (H2CClient: its connector, its queue), one per connection.
  const lifeline = await ClientPool.connect({ url: `http://127.0.0.1:${port}`, protocol: 'http2', connections, acquireTimeout: 60_000 });
  const h2cClients = Array.from({ length: connections }, () => new H2CClient(`http://127.0.0.1:${port}`, { maxConcurrentStreams: 1000, pipelining: 1000 }));
  const contenders = {
    'undici Client allowH2': rr(undiciClients, undiciSend),
    'node:http2 session': rr(sessions, nodeSend),
    'lifeline pool.request h2': () => lifeline.request({ path: '/' }),
    'undici H2CClient.request': rr(h2cClients, (client) => () => client.request({ path: '/', method: 'GET' }).then((r) => r.body.dump())),
  };
  const runs: Record<string, Run[]> = {};
  // Warm both, then alternate.
  for (const send of Object.values(contenders)) await drive(send, callers, 2_000);
  for (let round = 0; round < 5; round++) {
    for (const [name, send] of Object.entries(contenders)) (runs[name] ??= []).push(await drive(send, callers, total));
  }
  for (const [name, list] of Object.entries(runs)) {
    const rps = list.map((r) => r.reqs / r.seconds).sort((a, b) => a - b);
    const cpu = list.map((r) => r.cpuUs / r.reqs).sort((a, b) => a - b);
    console.log(
      `  ${name.padEnd(24)} ${connections} conn ${String(callers).padStart(3)} callers: ${Math.round(rps[2]!).toLocaleString('en')} req/s median (min ${Math.round(rps[0]!).toLocaleString('en')}, max ${Math.round(rps[4]!).toLocaleString('en')}), CPU ${cpu[2]!.toFixed(1)} us/req (min ${cpu[0]!.toFixed(1)}, max ${cpu[4]!.toFixed(1)})`,
    );
  }
  await lifeline.close();
  for (const c of h2cClients) await c.destroy().catch(() => {});
  for (const c of undiciClients) await c.destroy().catch(() => {});
  for (const s of sessions) s.destroy();
}

if (process.argv[2] === 'serve') {
  serveForBench();
} else {
  console.log(`HTTP/2 engines on a pre-dialed socket, h2c with prior knowledge, Node ${process.version}\n`);
  console.log('Part 1: what the slot can see');
  for (const engine of ['undici', 'node'] as const) {
    console.log(`\n [${engine === 'undici' ? 'undici 7 Client, allowH2, connect hook' : 'node:http2 connect, createConnection'}]`);
    console.log(`  GOAWAY(last id 3) with streams 1,3,5,7 open: ${await probeGoaway(engine)}`);
    console.log(`  REFUSED_STREAM on the 2nd of 3 requests: ${await probeRefused(engine)}`);
    console.log(`  SETTINGS max streams 5, then 2: ${await probeSettings(engine)}`);
    console.log(`  PING, then the peer freezes: ${await probePing(engine)}`);
  }
  console.log('\nPart 2: throughput, 64-byte bodies, server in a child process, 5 rounds of 5,000 requests alternated');
  const child = fork(fileURLToPath(import.meta.url), ['serve']);
  const [port] = (await once(child, 'message')) as [number];
  for (const [connections, callers] of [
    [1, 64],
    [4, 64],
  ] as const)
    await bench(port, connections, callers);
  child.kill();
}
