/**
 * A raw HTTP/1.1 server for the bad-peer corpus: it frames request heads
 * itself and answers each one with the bytes a script returns, so a case can
 * send what no HTTP library would (a bad status line, a lying Content-Length,
 * a response nobody asked for).
 */
import type net from 'node:net';
import { RawServer } from './raw-server.js';

export interface Exchange {
  /** Which connection (0 for the first accepted). */
  connection: number;
  /** Which request on that connection (0 for the first). */
  request: number;
  /** The request line and headers, without the blank line. */
  head: string;
}

/** Bytes to write, each part on its own turn, then whether to end (FIN) the connection. */
export interface RawReply {
  parts: (string | Buffer)[];
  end?: boolean;
}

export type Script = (exchange: Exchange) => string | RawReply;

export interface RawHttpOptions {
  /** Bytes written the moment a connection is accepted, before any request. */
  atConnect?: (connection: number) => string | undefined;
}

/** A well-formed keep-alive response. */
export function ok(body = 'ok'): string {
  return `HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

export class RawHttpServer extends RawServer {
  /** Request heads received, across connections. */
  requests = 0;
  readonly #script: Script;
  readonly #options: RawHttpOptions;

  constructor(script: Script, options: RawHttpOptions) {
    super('http');
    this.#script = script;
    this.#options = options;
  }

  protected onSocket(socket: net.Socket, connection: number): void {
    // A client's FIN ends the exchange: answer it, as a well-behaved server would.
    socket.on('end', () => socket.end());
    const early = this.#options.atConnect?.(connection);
    if (early !== undefined) socket.write(early);
    let request = 0;
    let pending = '';
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      // The clients here send no request bodies, so a blank line ends each request.
      for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
        const head = pending.slice(0, end);
        pending = pending.slice(end + 4);
        this.requests++;
        const reply = this.#script({ connection, request: request++, head });
        write(socket, typeof reply === 'string' ? { parts: [reply] } : reply);
      }
    });
  }
}

export function startRawHttpServer(script: Script, options: RawHttpOptions = {}): Promise<RawHttpServer> {
  return new RawHttpServer(script, options).start();
}

function write(socket: net.Socket, reply: RawReply): void {
  const [first, ...rest] = reply.parts;
  if (first === undefined) {
    if (reply.end) socket.end();
    return;
  }
  socket.write(first);
  // Later parts on later turns, so the client reads them as separate chunks (a body that streams in).
  setImmediate(() => !socket.destroyed && write(socket, { ...reply, parts: rest }));
}
