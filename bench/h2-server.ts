// The http2 case's servers, in their own process so the client under test has its own core and its CPU is
// measured apart from the server's. argv[2] and argv[3]: the certificate's and the key's PEM files.
// Two TLS listeners with the same certificate: node:http2 offering only ALPN `h2` (a client that cannot speak
// HTTP/2 fails its handshake instead of being served HTTP/1.1), and node:https (ALPN http/1.1) for lifeline h1.
// Both answer every request with the bench server's ~100 B body. It counts what it served, per protocol, and
// sends the counts when the parent asks ('counts'): the case checks each round was served in the protocol it
// claims. Prints { port, h1Port } to the parent over IPC; exits when the IPC channel closes.
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ServerCounts } from './lib/h2-server.js';

const cert = readFileSync(process.argv[2]!);
const key = readFileSync(process.argv[3]!);
const body = Buffer.from(JSON.stringify({ symbol: 'BTCUSDT', price: '64000.12', qty: '0.015', time: 1732300000000, id: 1 }).padEnd(100, ' '));
const h2Head = { ':status': 200, 'content-type': 'application/json', 'content-length': body.length };

const counts: ServerCounts = { cpuMicros: 0, h2Sessions: 0, h2Streams: 0, h2SessionsUsed: 0, h2PeakStreams: 0, h2Refused: 0, h1Connections: 0, h1Requests: 0, h1ConnectionsUsed: 0 };
/** Sessions and sockets that carried a request since the last count: how many connections a client really used. */
const usedSessions = new Set<unknown>();
const usedSockets = new Set<unknown>();

// 128 streams per connection, nginx's default (http2_max_concurrent_streams); both clients cap themselves at 100.
const h2 = http2.createSecureServer({ cert, key, ALPNProtocols: ['h2'], settings: { maxConcurrentStreams: 128 } });
h2.on('session', () => counts.h2Sessions++);
// No ALPN h2 agreed (a client that offered no ALPN): counted, so a client that fell back to HTTP/1.1 is named as
// such rather than seen as a mere failed request; closed at once (node:http2 would wait unknownProtocolTimeout).
h2.on('unknownProtocol', (socket) => {
  counts.h2Refused++;
  socket.destroy();
});
// A client that offers ALPN without h2 gets TLS's no_application_protocol alert from Node (20+) instead.
h2.on('tlsClientError', (error: Error & { code?: string }) => {
  if (error.code === 'ERR_SSL_NO_APPLICATION_PROTOCOL') counts.h2Refused++;
});
/** Streams open on each session now, and the most open on any one session since the last count. */
const openStreams = new WeakMap<object, number>();
let peakStreams = 0;
h2.on('stream', (stream) => {
  counts.h2Streams++;
  const session = stream.session!;
  usedSessions.add(session);
  const open = (openStreams.get(session) ?? 0) + 1;
  openStreams.set(session, open);
  if (open > peakStreams) peakStreams = open;
  stream.on('close', () => openStreams.set(session, openStreams.get(session)! - 1));
  stream.on('error', () => {});
  stream.respond(h2Head);
  stream.end(body);
});

const h1 = https.createServer({ cert, key, ALPNProtocols: ['http/1.1'] }, (req, res) => {
  counts.h1Requests++;
  usedSockets.add(req.socket);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
});
h1.keepAliveTimeout = 120_000;
h1.on('secureConnection', () => counts.h1Connections++);

process.on('message', (message) => {
  if (message !== 'counts') return;
  const cpu = process.cpuUsage();
  counts.cpuMicros = cpu.user + cpu.system;
  counts.h2SessionsUsed = usedSessions.size;
  counts.h2PeakStreams = peakStreams;
  peakStreams = 0;
  counts.h1ConnectionsUsed = usedSockets.size;
  usedSessions.clear();
  usedSockets.clear();
  process.send?.({ counts });
});

const listening = (server: http2.Http2SecureServer | https.Server) =>
  new Promise<number>((resolve) => server.listen(0, '127.0.0.1', 1_024, () => resolve((server.address() as AddressInfo).port)));
const [port, h1Port] = await Promise.all([listening(h2), listening(h1)]);
process.send?.({ port, h1Port });
process.on('disconnect', () => process.exit(0));
