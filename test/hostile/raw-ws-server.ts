/**
 * A raw WebSocket server for the bad-peer corpus: it does the HTTP upgrade
 * itself over a plain TCP socket (RFC 6455 section 4.2.2) so a case can write
 * frames no WebSocket library would send: reserved bits, unknown opcodes,
 * invalid UTF-8, bad close codes, masked server frames.
 *
 * A connection the script marks `rude` ignores the client's close frame and
 * FIN and never closes: the worst peer, the one a client must walk away from.
 * Other connections behave: they record text frames, answer pings and close
 * handshakes.
 */
import { createHash } from 'node:crypto';
import type net from 'node:net';
import { RawServer } from './raw-server.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export const OPCODE = { text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

export interface FrameOptions {
  fin?: boolean;
  /** The three reserved bits, RSV1 first (0b100 is RSV1 alone). */
  rsv?: number;
  /** Mask the payload, as only a client may. */
  mask?: boolean;
}

/** One frame, encoded by hand (any opcode, any bits). */
export function frame(opcode: number, payload: string | Buffer = Buffer.alloc(0), options: FrameOptions = {}): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const first = ((options.fin ?? true) ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | (opcode & 0x0f);
  const maskBit = options.mask ? 0x80 : 0;
  let header: Buffer;
  if (data.length < 126) {
    header = Buffer.from([first, maskBit | data.length]);
  } else if (data.length < 65536) {
    header = Buffer.from([first, maskBit | 126, data.length >> 8, data.length & 0xff]);
  } else {
    header = Buffer.alloc(10);
    header[0] = first;
    header[1] = maskBit | 127;
    header.writeBigUInt64BE(BigInt(data.length), 2);
  }
  if (!options.mask) return Buffer.concat([header, data]);
  const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  return Buffer.concat([header, key, Buffer.from(data.map((byte, i) => byte ^ key[i % 4]!))]);
}

/** A close frame carrying `code` on the wire, whatever it is. */
export function closeFrame(code: number, reason = ''): Buffer {
  const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
  payload.writeUInt16BE(code, 0);
  payload.write(reason, 2);
  return frame(OPCODE.close, payload);
}

export interface Session {
  /** Frames written right after the handshake (together with the 101, in one write). */
  frames?: Buffer[];
  /** Ignore the client's close frame and FIN; never close. */
  rude?: boolean;
}

export class RawWsServer extends RawServer {
  /** Text frames received, per connection. */
  readonly received: string[][] = [];
  readonly #upgraded = new Set<net.Socket>();
  readonly #script: (connection: number) => Session;

  constructor(script: (connection: number) => Session) {
    super('ws');
    this.#script = script;
  }

  /** Writes a frame to every open, upgraded connection. */
  broadcast(data: Buffer): void {
    for (const socket of this.#upgraded) socket.write(data);
  }

  protected onSocket(socket: net.Socket, connection: number): void {
    const session = this.#script(connection);
    const texts: string[] = [];
    this.received[connection] = texts;
    socket.once('close', () => this.#upgraded.delete(socket));
    if (!session.rude) socket.on('end', () => socket.end());
    let pending: Buffer = Buffer.alloc(0);
    let open = false;
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      if (!open) {
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) return;
        const key = /^sec-websocket-key:\s*(\S+)/im.exec(pending.subarray(0, end).toString('latin1'))?.[1] ?? '';
        pending = pending.subarray(end + 4);
        open = true;
        this.#upgraded.add(socket);
        const accept = createHash('sha1').update(key + GUID).digest('base64');
        const handshake = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`;
        socket.write(Buffer.concat([Buffer.from(handshake), ...(session.frames ?? [])]));
      }
      pending = readClientFrames(pending, (opcode, payload) => {
        if (session.rude) return;
        if (opcode === OPCODE.text) texts.push(payload.toString());
        else if (opcode === OPCODE.ping) socket.write(frame(OPCODE.pong, payload));
        else if (opcode === OPCODE.close) socket.end(frame(OPCODE.close, payload));
      });
    });
  }
}

export function startRawWsServer(script: (connection: number) => Session): Promise<RawWsServer> {
  return new RawWsServer(script).start();
}

/** Decodes the complete (masked, client-to-server) frames at the front of `buffer`; returns the rest. */
function readClientFrames(buffer: Buffer, onFrame: (opcode: number, payload: Buffer) => void): Buffer {
  for (;;) {
    if (buffer.length < 2) return buffer;
    let length = buffer[1]! & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (buffer.length < 4) return buffer;
      length = buffer.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (buffer.length < 10) return buffer;
      length = Number(buffer.readBigUInt64BE(2));
      offset = 10;
    }
    const masked = (buffer[1]! & 0x80) !== 0;
    const start = offset + (masked ? 4 : 0);
    if (buffer.length < start + length) return buffer;
    const key = buffer.subarray(offset, offset + 4);
    const payload = Buffer.from(buffer.subarray(start, start + length).map((byte, i) => (masked ? byte ^ key[i % 4]! : byte)));
    onFrame(buffer[0]! & 0x0f, payload);
    buffer = buffer.subarray(start + length);
  }
}
