/**
 * A real redis-server for a test (test/peers/redis-server.ts), stopped when the test finishes.
 */
import { onTestFinished } from 'vitest';
import { launchRedis, type RedisProcess } from '../peers/redis-server.js';

export type TestRedis = RedisProcess;

export async function startRedis(): Promise<TestRedis> {
  const redis = await launchRedis();
  onTestFinished(() => redis.stop());
  return redis;
}
