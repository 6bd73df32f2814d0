/**
 * Messages over the feed's maxMessageSize from a raw server that then never
 * closes: MESSAGE_TOO_LARGE (ws's maxPayload, code 1009), whether the size is
 * one frame, the sum of fragments each under the limit, or only declared in
 * a frame header whose payload never comes; and the feed heals.
 */
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/pool.js';
import { expectFeedHealed, openHostileFeed } from './hostile-feed.js';
import { frame, OPCODE, startRawWsServer } from './raw-ws-server.js';

const MAX = 1024;

/** A frame header (unmasked, FIN set) that declares `length` bytes, with no payload behind it. */
function headerOnly(opcode: number, length: number): Buffer {
  const header = Buffer.alloc(10);
  header[0] = 0x80 | opcode;
  header[1] = 127;
  header.writeBigUInt64BE(BigInt(length), 2);
  return header;
}

const cases: { name: string; frames: Buffer[] }[] = [
  { name: 'one text frame of maxMessageSize + 1', frames: [frame(OPCODE.text, 'x'.repeat(MAX + 1))] },
  { name: 'one binary frame of 64 KiB', frames: [frame(OPCODE.binary, Buffer.alloc(64 * 1024))] },
  {
    // Each fragment is under the limit; the message they make is not.
    name: 'three fragments of 400 bytes',
    frames: [
      frame(OPCODE.text, 'a'.repeat(400), { fin: false }),
      frame(0x0, 'b'.repeat(400), { fin: false }),
      frame(0x0, 'c'.repeat(400)),
    ],
  },
  // ws refuses on the header alone: a client must not wait for 1 GiB to know it is too much.
  { name: 'a header declaring 1 GiB, payload never sent', frames: [headerOnly(OPCODE.binary, 1 << 30)] },
];

describe('hostile WebSocket peer: messages over maxMessageSize', () => {
  it.each(cases)('$name gives MESSAGE_TOO_LARGE and the feed heals', async ({ frames }) => {
    const server = await startRawWsServer((connection) => (connection === 0 ? { frames, rude: true } : {}));
    const watched = openHostileFeed(server, { maxMessageSize: MAX });
    await expectFeedHealed(watched, server, 'MESSAGE_TOO_LARGE', 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
    expect(watched.errors[0]!.message).toBe(`a message exceeded maxMessageSize (${MAX} bytes)`);
    // Nothing of the oversized message was delivered, only the healthy connection's message.
    expect(watched.messages).toEqual(['{"p":1}']);
  });

  it('a message of exactly maxMessageSize is delivered and keeps the connection', async () => {
    // The boundary: the limit is "over", not "at".
    const exact = 'z'.repeat(MAX);
    const server = await startRawWsServer(() => ({ frames: [frame(OPCODE.text, exact)] }));
    const watched = openHostileFeed(server, { maxMessageSize: MAX });
    await waitFor(() => watched.messages.length === 1, () => watched.feed.stats());
    expect(watched.messages[0]).toBe(exact);
    expect(watched.errors).toEqual([]);
    expect(watched.feed.stats()).toMatchObject({ state: 'healthy', connections: 1 });
    expect(server.connections).toBe(1);
  });
});
