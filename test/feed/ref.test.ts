/**
 * An open feed keeps its process alive, as a socket does, until close()
 * (issue 14, item 8); `ref: false` opts out. Each case runs a small program in
 * a child process (test/fixtures/feed-alive.ts) whose only work is the feed,
 * and watches it from here: its states on stdout and its exit code.
 */
import { spawn } from 'node:child_process';
import https from 'node:https';
import type net from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { WebSocketServer } from 'ws';
import { TEST_CERT, TEST_KEY } from '../fixtures/tls.js';
import { openFeed, waitForState } from '../helpers/feed.js';
import { startWsServer } from '../helpers/ws-server.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/feed-alive.ts', import.meta.url));
/** The child ends itself (its watchdog) after 5 s once it should have exited; this covers a loaded machine's tsx start-up too. */
const CHILD_TIMEOUT = 20_000;

interface ChildRun {
  lines: string[];
  code: number | null;
  stderr: string;
}

/** Runs the fixture in `mode`; `onLine` sees each line of its stdout as it comes. */
function runChild(mode: string, url: string, onLine: (line: string, lines: string[]) => void = () => {}): Promise<ChildRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, mode, url], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let stderr = '';
    let partial = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      partial += chunk;
      let end;
      while ((end = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, end);
        partial = partial.slice(end + 1);
        lines.push(line);
        onLine(line, lines);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ lines, code, stderr });
    });
  });
}

describe('an open feed keeps the process alive', () => {
  it('a program whose only work is a feed lives through a drop and the backoff, reconnects, and exits after close()', async () => {
    const server = await startWsServer();
    const run = await runChild('reconnect', server.url, (line, lines) => {
      // Drop it when it is first live: between the drop and the reconnect it has no socket at all.
      if (line === 'healthy' && lines.filter((l) => l === 'healthy').length === 1) server.dropAll();
    });
    expect(run.stderr).toBe('');
    // Before the fix the process exited with code 0 in `backoff`, its first moment without a socket.
    expect(run.lines).toEqual(['healthy', 'poisoned', 'backoff', 'connecting', 'healthy', 'closing', 'closed', 'close() resolved']);
    expect(run.code).toBe(0);
    expect(server.connections).toBe(2);
  });

  it('once close() has resolved, the process exits on its own', async () => {
    const server = await startWsServer();
    const run = await runChild('close', server.url);
    expect(run.stderr).toBe('');
    // 'still alive after the feed closed' and code 3 would mean the feed still held it 5 s later.
    expect(run.lines).toEqual(['healthy', 'closing', 'closed', 'close() resolved']);
    expect(run.code).toBe(0);
  });

  it('a feed that gives up (maxReconnects) lets the process exit without close()', async () => {
    const server = await startWsServer();
    const refused = server.url;
    await server.stop();
    const run = await runChild('give-up', refused);
    expect(run.stderr).toBe('');
    // The second failure goes straight to closed (RECONNECTS_EXHAUSTED): no close() was called.
    expect(run.lines).toEqual(['backoff', 'connecting', 'closed']);
    expect(run.code).toBe(0);
  });

  it('with ref: false the feed never holds the process: it exits while the feed is still live', async () => {
    const server = await startWsServer();
    const run = await runChild('unref', server.url);
    expect(run.stderr).toBe('');
    // Exited with nothing after `healthy`: no close, no drop. 'still alive with ref: false' and code 3 otherwise.
    expect(run.lines).toEqual(['healthy']);
    expect(run.code).toBe(0);
  });
});

/** A wss:// server whose own side of each connection is unref'd, so the ref'd sockets counted are the client's. */
async function startTlsWsServer(): Promise<string> {
  const server = https.createServer({ cert: TEST_CERT, key: TEST_KEY });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (_socket, request) => request.socket.unref());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  onTestFinished(async () => {
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => wss.close(() => server.close(() => resolve())));
  });
  return `wss://127.0.0.1:${(server.address() as net.AddressInfo).port}/`;
}

const refdSockets = () => process.getActiveResourcesInfo().filter((kind) => kind === 'TCPSocketWrap').length;

describe('ref: false over TLS', () => {
  it('a live wss:// feed holds the process through its socket, and with ref: false it does not', async () => {
    const url = await startTlsWsServer();
    const before = refdSockets();
    const held = openFeed({ url, tls: { ca: TEST_CERT } });
    await waitForState(held, 'healthy');
    expect(refdSockets()).toBe(before + 1);
    await held.close();
    const free = openFeed({ url, tls: { ca: TEST_CERT }, ref: false });
    await waitForState(free, 'healthy');
    expect(refdSockets()).toBe(before);
  });
});
