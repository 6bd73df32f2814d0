/**
 * The http2 case's venue: HTTP/2 and HTTP/1.1 over TLS on loopback with a self-signed certificate
 * (bench/h2-server.ts, forked), and what it counted. The case reads a venue through `H2Venue` only, so
 * another server (nginx with its http2 module, for the reload row) can stand in for it.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { makeBenchCert } from './tls-cert.js';

/** What the server counted since it started; the `...Used` fields since the previous count. */
export interface ServerCounts {
  /** The server process's CPU time (user + system) since it started, in microseconds. */
  cpuMicros: number;
  h2Sessions: number;
  h2Streams: number;
  /** HTTP/2 sessions that carried at least one stream since the previous count. */
  h2SessionsUsed: number;
  /** The most streams open at once on any one HTTP/2 session since the previous count. */
  h2PeakStreams: number;
  /** TLS connections to the HTTP/2 listener that negotiated no `h2` (a client that would speak HTTP/1.1). */
  h2Refused: number;
  h1Connections: number;
  h1Requests: number;
  /** HTTP/1.1 connections that carried at least one request since the previous count. */
  h1ConnectionsUsed: number;
}

export interface H2Venue {
  /** `https://127.0.0.1:port`, ALPN h2 only. */
  h2Origin: string;
  /** `https://127.0.0.1:port`, ALPN http/1.1. */
  h1Origin: string;
  /** The PEM the clients trust (`ca`). */
  ca: string;
  counts(): Promise<ServerCounts>;
  stop(): Promise<void>;
}

export async function startH2Venue(): Promise<H2Venue> {
  const cert = makeBenchCert();
  const child = fork(new URL('../h2-server.js', import.meta.url), [cert.certPath, cert.keyPath]);
  try {
    const exited = once(child, 'exit').then(([code]) => {
      throw new Error(`bench: the http2 case's server exited (code ${code}) before listening`);
    });
    const [{ port, h1Port }] = (await Promise.race([once(child, 'message'), exited])) as [{ port: number; h1Port: number }];
    return {
      h2Origin: `https://127.0.0.1:${port}`,
      h1Origin: `https://127.0.0.1:${h1Port}`,
      ca: cert.cert,
      async counts() {
        const reply = once(child, 'message') as Promise<[{ counts: ServerCounts }]>;
        child.send('counts');
        return (await reply)[0].counts;
      },
      async stop() {
        const exited = once(child, 'exit');
        // The server exits when its IPC channel closes.
        child.disconnect();
        await exited;
        cert.remove();
      },
    };
  } catch (error) {
    child.kill();
    cert.remove();
    throw error;
  }
}
