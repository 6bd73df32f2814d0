/**
 * A process that reserved budget and died before sending frees it by the reservation's TTL: a real
 * child process reserves the whole budget of a real redis-server's key and is killed with SIGKILL
 * (nothing of it runs after: no cancel, no close). Its reservations keep counting (the fleet cannot
 * tell a dead process from a slow request), then leave once `ttl` + a window has passed since their
 * reserve, and the fleet gets the budget back. Times are Redis's own (`TIME`), as the script's are:
 * the test asserts an order on that clock, never a speed.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { Governor, isLifelineError, redisStore } from '../../../src/index.js';
import { openRedisClient } from '../../helpers/redis-client.js';
import { startRedis } from '../../helpers/redis-server.js';

const FIXTURE = fileURLToPath(new URL('../../fixtures/reserve-and-hang.ts', import.meta.url));
const CAP = 10;
const PER = 500;
const TTL = 1_000;

/** Redis's clock in ms, as the script reads it. */
async function redisTime(client: { sendCommand(args: string[]): Promise<unknown> }): Promise<number> {
  const [seconds, micros] = (await client.sendCommand(['TIME'])) as [string, string];
  return Number(seconds) * 1_000 + Number(micros) / 1_000;
}

it('frees the reservations of a process killed before it sent: after ttl + a window, the fleet has the budget back', { timeout: 30_000 }, async () => {
  const redis = await startRedis();
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, redis.url, 'dead', String(CAP), String(PER), String(TTL)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = once(child, 'exit');
  const reserved = await new Promise<{ before: number; granted: number }>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('\n')) resolve(JSON.parse(out.trim()) as { before: number; granted: number });
    });
    child.on('exit', (code) => reject(new Error(`the child exited (${code}) before reserving: ${err}${out}`)));
  });
  expect(reserved.granted).toBe(CAP);
  child.kill('SIGKILL');
  const [code, signal] = await exited;
  expect([code, signal]).toEqual([null, 'SIGKILL']);

  const client = await openRedisClient(redis.url);
  const governor = new Governor({ windows: [{ weight: CAP, per: PER }], store: redisStore(client, { key: 'dead', ttl: TTL }) });
  // The dead process's reservations still count: a caller that may not wait is refused.
  const refused = await Promise.resolve(governor.acquire(1, 'normal', 0, undefined)).then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(isLifelineError(refused) && refused.code).toBe('RATE_LIMITED');
  expect(governor.storeState).toBe('shared');
  // A patient caller gets the whole budget once they have left, and not before ttl + a window from their reserve.
  const ticket = await governor.acquire(CAP, 'normal', 20_000, undefined);
  const granted = await redisTime(client);
  expect(ticket.id).toBeDefined();
  expect(granted).toBeGreaterThanOrEqual(reserved.before + TTL + PER);
  governor.release(ticket);
});
