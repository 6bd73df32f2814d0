/**
 * Frames that break RFC 6455, from a raw server that then never closes the
 * connection (it ignores the client's close frame and FIN): ws fails the
 * connection, the feed reports FEED_LOST with ws's code in `cause`, and heals
 * on a new connection without waiting on the peer.
 */
import { describe, expect, it } from 'vitest';
import { expectFeedHealed, openHostileFeed } from './hostile-feed.js';
import { closeFrame, frame, OPCODE, startRawWsServer } from './raw-ws-server.js';

const cases: { name: string; frames: Buffer[]; wsCode: string }[] = [
  { name: 'RSV1 set with no extension negotiated', frames: [frame(OPCODE.text, 'x', { rsv: 0b100 })], wsCode: 'WS_ERR_UNEXPECTED_RSV_1' },
  { name: 'RSV2 and RSV3 set', frames: [frame(OPCODE.text, 'x', { rsv: 0b011 })], wsCode: 'WS_ERR_UNEXPECTED_RSV_2_3' },
  { name: 'an unknown opcode (0x3)', frames: [frame(0x3, 'x')], wsCode: 'WS_ERR_INVALID_OPCODE' },
  { name: 'a continuation with nothing to continue', frames: [frame(0x0, 'x')], wsCode: 'WS_ERR_INVALID_OPCODE' },
  { name: 'a fragmented control frame', frames: [frame(OPCODE.ping, 'x', { fin: false })], wsCode: 'WS_ERR_EXPECTED_FIN' },
  { name: 'invalid UTF-8 in a text frame', frames: [frame(OPCODE.text, Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))], wsCode: 'WS_ERR_INVALID_UTF8' },
  { name: 'a masked server frame', frames: [frame(OPCODE.text, '{"p":0}', { mask: true })], wsCode: 'WS_ERR_UNEXPECTED_MASK' },
  // 1005 means "no code was sent": it must never appear on the wire.
  { name: 'a close frame with code 1005 on the wire', frames: [closeFrame(1005)], wsCode: 'WS_ERR_INVALID_CLOSE_CODE' },
  { name: 'a close frame with code 999', frames: [closeFrame(999)], wsCode: 'WS_ERR_INVALID_CLOSE_CODE' },
  { name: 'a close frame with a one-byte payload', frames: [frame(OPCODE.close, Buffer.from([0x03]))], wsCode: 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH' },
];

describe('hostile WebSocket peer: malformed frames', () => {
  it.each(cases)('$name gives FEED_LOST ($wsCode) and the feed heals', async ({ frames, wsCode }) => {
    const server = await startRawWsServer((connection) => (connection === 0 ? { frames, rude: true } : {}));
    const watched = openHostileFeed(server);
    await expectFeedHealed(watched, server, 'FEED_LOST', wsCode);
  });

  it('a valid close frame, then the TCP connection held open: FEED_LOST with the code, healed within closeTimeout', async () => {
    // ws answers the close frame and waits for the peer's FIN; one that never comes must cost the
    // feed its closeTimeout (1 s), not ws's default 30 s (waitFor gives up after 5 s).
    const server = await startRawWsServer((connection) => (connection === 0 ? { frames: [closeFrame(1011, 'bye')], rude: true } : {}));
    const watched = openHostileFeed(server);
    await expectFeedHealed(watched, server, 'FEED_LOST');
    expect(watched.errors[0]!.message).toBe('the WebSocket closed (code 1011)');
  });
});
