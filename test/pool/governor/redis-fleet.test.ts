/**
 * The fleet (issue 18, "Show it"): 4 processes x 2 pools share one Redis budget against a
 * loopback venue (its own process) that counts arrivals. No span of the venue's window ever holds
 * more than the limit, and under saturation the fleet uses at least 90% of it.
 * Real time: windows of 1 s, a run of 3 s, child processes bounded by a watchdog.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { maxInWindow, startArrivalServer } from '../../helpers/arrivals.js';
import { startRedis } from '../../helpers/redis-server.js';

const FIXTURE = fileURLToPath(new URL('../../fixtures/fleet-process.ts', import.meta.url));
const PROCESSES = 4;
const CAP = 40;
const PER = 1_000;
const DURATION = 3_000;
/** Time for every child to start (tsx) and connect before the run begins, on a small loaded machine. */
const LEAD = 4_000;

interface ChildResult {
  sent: number;
  refused: number;
  stats: { store: string; degradations: number };
}

function runChild(args: string[]): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`fleet process exited ${code}: ${err}${out}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!) as ChildResult);
    });
  });
}

it('4 processes x 2 pools never exceed the shared budget on arrival, and use at least 90% of it', { timeout: 30_000 }, async () => {
  const redis = await startRedis();
  const venue = await startArrivalServer();
  const start = Date.now() + LEAD;
  const args = [redis.url, venue.url, 'fleet', String(CAP), String(PER), String(start), String(DURATION)];
  const results = await Promise.all(Array.from({ length: PROCESSES }, () => runChild(args)));

  expect(results.map((result) => [result.stats.store, result.stats.degradations])).toEqual(Array.from({ length: PROCESSES }, () => ['shared', 0]));
  const times = await venue.arrivals();
  expect(times.length).toBe(results.reduce((sum, result) => sum + result.sent, 0));
  // Every process took part.
  expect(results.every((result) => result.sent > 0)).toBe(true);
  expect(maxInWindow(times, PER)).toBeLessThanOrEqual(CAP);
  const first = Math.min(...times);
  const windows = Math.floor(DURATION / PER);
  const used = times.filter((t) => t < first + windows * PER).length;
  expect(used / (windows * CAP)).toBeGreaterThanOrEqual(0.9);
});
