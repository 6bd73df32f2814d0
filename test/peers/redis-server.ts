/**
 * A real redis-server (Debian's) on 127.0.0.1 and a free port, never the default one, with no
 * persistence. `stop()` and `start()` again on the same port take Redis away and bring it back
 * (empty, as a restarted server without persistence is). No vitest here: the bench imports it too;
 * tests use test/helpers/redis-server.ts, which stops it when the test finishes.
 *
 * No redis-server is a failure, never a skip: CI installs it (.ci/run), and a budget test that
 * silently did not run would prove nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';

const BINARY = '/usr/bin/redis-server';

export interface RedisProcess {
  port: number;
  url: string;
  start(): Promise<void>;
  /** Kills it (SIGKILL) and waits for its exit; idempotent. */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A redis-server on a free port of 127.0.0.1, started (ready to accept connections). */
export async function launchRedis(): Promise<RedisProcess> {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: apt-get install redis-server (.ci/run installs it)`);
  const port = await freePort();
  let child: ChildProcess | undefined;
  const redis: RedisProcess = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      const started = spawn(BINARY, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
      child = started;
      let out = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 5_000);
        started.stdout!.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('Ready to accept connections')) {
            clearTimeout(timer);
            resolve();
          }
        });
        started.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`redis-server exited (${code}): ${out}`));
        });
      });
      started.stdout!.resume();
    },
    async stop() {
      const running = child;
      child = undefined;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGKILL');
      await exited;
    },
  };
  try {
    await redis.start();
  } catch (error) {
    await redis.stop();
    throw error;
  }
  return redis;
}
