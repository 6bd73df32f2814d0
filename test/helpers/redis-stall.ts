/**
 * Stalls a real redis-server: a Lua loop that holds its one thread for `ms`, so every other client's
 * commands wait behind it (a slow script, a fork for a save, a starved host), and then all answer.
 * No DEBUG command needed (redis 7 refuses it by default). Resolves when the stall is over.
 */
import type { RedisCommander } from '../../src/index.js';

const STALL = `local t = redis.call('TIME') local t0 = t[1] * 1000 + t[2] / 1000 local n = t0
while n - t0 < tonumber(ARGV[1]) do t = redis.call('TIME') n = t[1] * 1000 + t[2] / 1000 end return 1`;

export async function stallRedis(client: RedisCommander, ms: number): Promise<void> {
  await client.sendCommand(['EVAL', STALL, '0', String(ms)]);
}
