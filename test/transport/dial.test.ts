/**
 * dial() on plain TCP, the path of every replacement on an http:// origin: a refusal, the
 * connectTimeout against a listener that never completes the handshake, and a cancel, each
 * CONNECT_FAILED with its reason, and no socket left behind when the dial settles.
 *
 * The black hole is real: a python3 listener that never accepts, its backlog filled first, so
 * the kernel drops our SYN and the connect hangs, as against a host that is down.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { isLifelineError } from '../../src/index.js';
import { Cancel } from '../../src/transport/cancel.js';
import { dial, type DialTarget } from '../../src/transport/dial.js';
import { rejection } from '../helpers/errors.js';

function target(port: number, connectTimeout = 2_000): DialTarget {
  return { host: '127.0.0.1', port, tls: undefined, connectTimeout, noDelay: true, keepAlive: 60_000 };
}

const sockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;

/** A port whose listener never accepts, with its backlog full: a connect to it hangs. */
async function blackHole(): Promise<number> {
  const child = spawn('python3', ['-c', "import socket,sys,time\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(60)"], { stdio: ['ignore', 'pipe', 'inherit'] });
  onTestFinished(() => void child.kill('SIGKILL'));
  const port = await new Promise<number>((resolve) => child.stdout.once('data', (line: Buffer) => resolve(Number(line.toString().trim()))));
  // Fill the accept queue; the kernel then drops further SYNs.
  const fillers: net.Socket[] = [];
  onTestFinished(() => fillers.forEach((socket) => socket.destroy()));
  for (let i = 0; i < 4; i++) {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('error', () => {});
    fillers.push(socket);
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
  return port;
}

describe('dial: plain TCP', () => {
  it('connects, and hands over an unref’d socket with no listener of its own left', async () => {
    const server = net.createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => void server.close());
    const socket = await dial(target((server.address() as net.AddressInfo).port), new Cancel());
    expect(socket.listenerCount('connect') + socket.listenerCount('error') + socket.listenerCount('close')).toBe(0);
    socket.destroy();
  });

  it('a refusal is CONNECT_FAILED with the socket error as its cause', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const error = await rejection(dial(target(port), new Cancel()));
    expect(isLifelineError(error, 'CONNECT_FAILED')).toBe(true);
    expect(error.message).toBe(`connect to 127.0.0.1:${port} failed: ECONNREFUSED`);
    expect((error.cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });

  it('past connectTimeout, the hanging connect fails and its socket is gone when the dial settles', async () => {
    const port = await blackHole();
    const before = sockets();
    const dialing = dial(target(port, 100), new Cancel());
    expect(sockets()).toBe(before + 1);
    const error = await rejection(dialing);
    expect(error.message).toBe(`connect to 127.0.0.1:${port} failed: no connection within connectTimeout (100 ms)`);
    expect(error.cause).toBeUndefined();
    expect(sockets()).toBe(before);
  });

  it('a cancel stops the connect where it stands; a dial cancelled before it starts opens nothing', async () => {
    const port = await blackHole();
    const before = sockets();
    const cancel = new Cancel();
    const dialing = dial(target(port), cancel);
    cancel.cancel();
    expect((await rejection(dialing)).message).toBe(`connect to 127.0.0.1:${port} failed: aborted`);
    expect(sockets()).toBe(before);
    expect((await rejection(dial(target(port), cancel))).message).toBe(`connect to 127.0.0.1:${port} aborted`);
    expect(sockets()).toBe(before);
  });
});
