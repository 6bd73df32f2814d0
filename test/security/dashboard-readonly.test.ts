/**
 * The dashboard is a read-only window on loopback: it listens on 127.0.0.1
 * unless told otherwise, refuses every method but GET and HEAD without acting
 * on the request, answers 404 to every path but its three, and serves nothing
 * from the file system however the path is spelled.
 */
import net from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { serveDashboard, type Dashboard, type DashboardOptions } from '../../src/index.js';
import { get } from '../helpers/dashboard-client.js';
import { startHttpServer } from '../helpers/http-server.js';
import { openPool } from '../helpers/pool.js';

async function open(options: DashboardOptions): Promise<Dashboard> {
  const dashboard = await serveDashboard(options);
  onTestFinished(() => dashboard.close());
  return dashboard;
}

/** A request with its path sent exactly as written. */
const send = (dashboard: Dashboard, method: string, path: string, body?: string) => get(dashboard.url, { method, path, body });

/** Whether anything accepts a TCP connection at host:port. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('dashboard, read-only on loopback', () => {
  it('listens on 127.0.0.1 only by default', async () => {
    const dashboard = await open({});
    expect(new URL(dashboard.url).hostname).toBe('127.0.0.1');
    expect(await accepts('127.0.0.1', dashboard.port)).toBe(true);
    // Linux routes all of 127/8 to loopback: a server bound to 0.0.0.0 would accept here too.
    expect(await accepts('127.0.0.2', dashboard.port)).toBe(false);
  });

  it('refuses every method but GET and HEAD on every path with 405, and changes nothing', async () => {
    const server = await startHttpServer();
    const pool = await openPool({ url: server.url, connections: 2, history: 50 });
    const dashboard = await open({ pools: [pool] });
    const before = { stats: pool.stats(), history: (await send(dashboard, 'GET', '/history.json')).body };
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      for (const path of ['/', '/events', '/history.json', '/close', '/nope']) {
        const answer = await send(dashboard, method, path, JSON.stringify({ close: true, pools: [] }));
        expect(answer.status, `${method} ${path}`).toBe(405);
        expect(answer.headers.allow).toBe('GET, HEAD');
        expect(answer.body).toBe('');
      }
    }
    expect(pool.stats()).toEqual(before.stats);
    expect((await send(dashboard, 'GET', '/history.json')).body).toBe(before.history);
    expect(pool.closed).toBe(false);
    expect(server.requests).toBe(0);
  });

  it('answers 404 to unknown paths and serves no file, however the path is spelled', async () => {
    const dashboard = await open({});
    const page = await send(dashboard, 'GET', '/');
    const history = await send(dashboard, 'GET', '/history.json');
    const paths = [
      '/package.json',
      '/../package.json',
      '/../../../../etc/passwd',
      '/%2e%2e/package.json',
      '/%2E%2E%2Fpackage.json',
      '/..%2f..%2fpackage.json',
      '/..%5c..%5cpackage.json',
      '/%252e%252e/package.json',
      '//etc/passwd',
      '/src/index.ts',
      '/index.html',
      '/events/../../package.json',
      '/history.json/../../package.json',
      '/history.json%00.txt',
      '/.git/config',
    ];
    for (const path of paths) {
      const answer = await send(dashboard, 'GET', path);
      // Dot segments collapse onto the dashboard's own paths, or onto nothing: never onto a file.
      const known = [page.body, history.body];
      if (answer.status === 200) expect(known, path).toContain(answer.body);
      else expect(answer.status, path).toBe(404);
      expect(answer.body, path).not.toMatch(/"name":\s*"lifeline-supervisor"|root:x:0|\[core\]|export \{/);
    }
    expect((await send(dashboard, 'GET', '/nope')).body).toBe('not found');
  });
});
