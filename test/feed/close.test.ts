/**
 * close() during backoff or connecting stops every timer and socket.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openFeed, waitForState } from '../helpers/feed.js';
import { startWsServer } from '../helpers/ws-server.js';

describe('feed close', () => {
  it('closes a live feed with a normal close (1000) and settles once the socket is gone', async () => {
    const server = await startWsServer();
    const feed = openFeed({ url: server.url, heartbeat: { interval: 1_000, timeout: 500 }, staleAfter: 5_000 });
    await waitForState(feed, 'healthy');
    const [client] = server.clients;
    const closeCode = new Promise<number>((resolve) => client!.once('close', (code) => resolve(code)));
    const iterator = feed.messages();
    await feed.close();
    expect(feed.state).toBe('closed');
    expect(await closeCode).toBe(1000);
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
    await expect(feed.send('x')).rejects.toMatchObject({ code: 'FEED_CLOSED' });
  });

  it('a process whose feeds were closed while backing off and while connecting exits on its own', async () => {
    const fixture = fileURLToPath(new URL('../fixtures/feed-exit.ts', import.meta.url));
    const started = performance.now();
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, ['--import', 'tsx', fixture], { timeout: 15_000 }, (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
      child.stdin?.end();
    });
    expect(stderr).toBe('');
    expect(stdout.trim()).toBe('closed: closed closed');
    expect(code).toBe(0);
    // The backoff delay was 60 s: exiting before it means no timer held the process.
    expect(performance.now() - started).toBeLessThan(15_000);
  });
});
