/**
 * What the normal-ends tests need of real servers beyond the launchers of
 * `real-servers.ts`: the connections a server accepted and closed ("dials ==
 * closes"), nginx's workers (to follow a reload without a probe connection,
 * which would be counted), and python's http.server with counters and an echo.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import type { ConnectionCounts, CountConnections } from '../helpers/normal-ends.js';
import { PYTHON_BIN, freePort } from './real-servers.js';

/** One GET on a connection of its own (`Connection: close`): the body, or a rejection. */
export function fetchText(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: 2_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`GET ${path}: ${res.statusCode} ${body}`))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
  });
}

/** nginx's `stub_status` at `/status`: a directive for the server block (`startNginx({ config })`). */
export const STUB_STATUS = 'location = /status { stub_status; }';

/**
 * The connections nginx accepted and closed from now on, read from `stub_status`
 * (whose counters live in shared memory: they survive a reload), the status
 * requests themselves left out. Call it before the client connects. `fetch`: how a
 * status page is read, each time on a connection of its own (default: plain HTTP on `port`).
 */
export async function nginxCounts(port: number, fetch: (path: string) => Promise<string> = (path) => fetchText(port, path)): Promise<CountConnections> {
  let reads = 0;
  const read = async () => {
    const text = await fetch('/status');
    reads++;
    const active = /Active connections:\s*(\d+)/.exec(text);
    const totals = /\n\s*(\d+)\s+(\d+)\s+(\d+)\s*\n/.exec(text);
    if (!active || !totals) throw new Error(`not a stub_status page: ${text}`);
    return { active: Number(active[1]), accepts: Number(totals[1]) };
  };
  const base = await read();
  return async (): Promise<ConnectionCounts> => {
    const now = await read();
    // Every read after the baseline, this one included, was a connection of its own.
    const accepted = now.accepts - base.accepts - (reads - 1);
    // This read's connection is the one active connection that is not the client's.
    return { accepted, open: now.active - 1 };
  };
}

/** The pids of a process's children (nginx's workers), from /proc. */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Whether nginx worker `pid` is still up and not yet shutting down. */
function serving(pid: number): boolean {
  try {
    return running(pid) && !readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('shutting down');
  } catch {
    return false;
  }
}

/**
 * A graceful nginx reload (SIGHUP) followed without any connection of our own:
 * resolves once a new worker runs and no old one serves any more (each has
 * exited, or is shutting down: it has closed its listener and its idle
 * connections, and finishes the requests in flight). `old` lists the workers
 * before the signal.
 */
export async function reloadNginx(masterPid: number, timeout = 10_000): Promise<{ old: number[] }> {
  const old = childrenOf(masterPid);
  process.kill(masterPid, 'SIGHUP');
  const deadline = performance.now() + timeout;
  for (;;) {
    const now = childrenOf(masterPid);
    if (now.some((pid) => !old.includes(pid)) && !old.some(serving)) return { old };
    if (performance.now() > deadline) throw new Error(`nginx reload not done within ${timeout} ms: workers before ${old}, now ${now}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Resolves once none of `pids` runs any more (an old nginx worker has finished and exited). */
export async function exited(pids: number[], timeout = 10_000): Promise<void> {
  const deadline = performance.now() + timeout;
  while (pids.some(running)) {
    if (performance.now() > deadline) throw new Error(`still running after ${timeout} ms: ${pids}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Whether `pid` runs (exists and is no zombie). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

/** Server-side sockets of a loopback port still open (not listening, not in TIME_WAIT), from /proc/net/tcp. */
export function openServerSockets(port: number): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let open = 0;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 4) continue;
    const [, local, , state] = fields;
    // 0A: LISTEN, 06: TIME_WAIT, 07: CLOSE.
    if (local!.endsWith(`:${hexPort}`) && !['0A', '06', '07'].includes(state!)) open++;
  }
  return open;
}

export interface CountingPython {
  url: string;
  port: number;
  /** Connections accepted and closed, those of the count requests left out. */
  counts(): Promise<ConnectionCounts>;
  stop(): Promise<void>;
}

const SCRIPT = fileURLToPath(new URL('./counting_http_server.py', import.meta.url));

/**
 * python's http.server (its ThreadingHTTPServer and SimpleHTTPRequestHandler,
 * HTTP/1.0, as `python3 -m http.server --protocol HTTP/1.0`), with the GET and
 * POST echo of `echoPlan` (the POST answer has no Content-Length: it ends at
 * EOF) and its connection counts (`counting_http_server.py`).
 */
export async function startCountingPython(): Promise<CountingPython> {
  const port = await freePort();
  const child = spawn(PYTHON_BIN, [SCRIPT, String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_096)));
  const exit = once(child, 'exit');
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  const stop = async () => {
    process.off('exit', kill);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exit;
    }
  };
  const counts = async () => {
    const [accepted, closed] = (await fetchText(port, '/_counts')).split(' ').map(Number);
    return { accepted: accepted!, open: accepted! - closed! };
  };
  const deadline = performance.now() + 10_000;
  for (;;) {
    try {
      await counts();
      return { url: `http://127.0.0.1:${port}`, port, counts, stop };
    } catch {
      if (child.exitCode !== null || performance.now() > deadline) {
        await stop();
        throw new Error(`counting python server did not start on ${port}: ${stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
