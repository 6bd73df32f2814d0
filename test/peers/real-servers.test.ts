/**
 * Smoke test of the real-server launchers: each starts, answers one GET through undici, and stops
 * without leaving a process or its folder behind. nginx and haproxy also reload.
 */
import { existsSync } from 'node:fs';
import { Agent, request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import {
  available,
  startHaproxy,
  startNginx,
  startPythonHttpServer,
  stopAllRealServers,
  type RealServer,
  type ReloadableServer,
} from './real-servers.js';

afterAll(() => stopAllRealServers());

// Never skipped: a missing server is a broken set-up (.ci/run installs them from Debian), not a pass.
it('nginx, haproxy and python3 are installed', () => {
  expect({ nginx: available('nginx'), haproxy: available('haproxy'), python: available('python') }).toEqual({ nginx: true, haproxy: true, python: true });
});

/**
 * A request on a connection of its own (a fresh agent, `Connection: close`), so it meets the server's
 * current workers and never a kept-alive connection that a reload has just closed.
 */
async function fresh(url: string, options: { method?: string; body?: Buffer } = {}) {
  const agent = new Agent();
  try {
    const res = await request(url, { ...options, reset: true, dispatcher: agent });
    return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
  } finally {
    await agent.close();
  }
}

const get = (url: string, path = '/') => fresh(`${url}${path}`);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function expectReload(server: ReloadableServer) {
  const before = await get(server.url);
  expect(before).toMatchObject({ status: 200, body: 'ok' });
  await server.reload();
  const after = await get(server.url);
  expect(after.status).toBe(200);
  expect(after.headers['x-worker']).not.toBe(before.headers['x-worker']);
  expect(server.reloads).toBe(1);
}

async function expectGone(server: RealServer) {
  await server.stop();
  expect(alive(server.pid)).toBe(false);
  expect(existsSync(server.dir)).toBe(false);
  await server.stop(); // idempotent
}

describe('nginx', () => {
  it('serves GET and POST, reloads onto new workers, and stops', async () => {
    const nginx = await startNginx({ config: 'keepalive_requests 10;' });
    try {
      const posted = await fresh(`${nginx.url}/post`, { method: 'POST', body: Buffer.alloc(100_000, 'x') });
      expect(posted).toMatchObject({ status: 200, body: 'ok' });
      await expectReload(nginx);
    } finally {
      await expectGone(nginx);
    }
  });

  it('refuses a bad config with nginx\'s own message, and leaves nothing behind', async () => {
    await expect(startNginx({ config: 'no_such_directive 1;' })).rejects.toThrow(/unknown directive/);
  });
});

describe('python3 -m http.server', () => {
  it('serves GET over HTTP/1.0 and stops', async () => {
    const python = await startPythonHttpServer();
    try {
      const res = await get(python.url);
      expect(res).toMatchObject({ status: 200, body: 'ok' });
    } finally {
      await expectGone(python);
    }
  });
});

describe('haproxy', () => {
  it('serves GET and POST, reloads onto a new worker, and stops', async () => {
    const haproxy = await startHaproxy();
    try {
      const posted = await fresh(`${haproxy.url}/post`, { method: 'POST', body: Buffer.alloc(1_000, 'x') });
      expect(posted.status).toBe(200);
      await expectReload(haproxy);
    } finally {
      await expectGone(haproxy);
    }
  });
});
