/**
 * redisStore on each major version of node-redis the peer dependency allows (v4, v5, v6), against a
 * real redis-server: the budget held atomically (EVALSHA, EVAL after NOSCRIPT), a cancel, the venue's
 * correction in a commit, and Redis killed and restarted (each version's way of refusing commands
 * while offline turns the governor degraded, and a retry brings it back).
 *
 * All three are devDependencies: v6 as `redis`, v4 and v5 under the aliases `redis4` and `redis5`
 * (`npm:redis@^4`, `npm:redis@^5`).
 */
import { createRequire } from 'node:module';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Governor, redisStore, type RedisCommander } from '../../../src/index.js';
import type { Ticket } from '../../../src/pool/governor/governor.js';
import { startRedis } from '../../helpers/redis-server.js';

const CAP = 10;
const PER = 60_000;

interface NodeRedis {
  createClient(options: object): RedisCommander & {
    on(event: 'error', listener: () => void): unknown;
    connect(): Promise<unknown>;
    destroy?(): void;
    disconnect?(): Promise<void>;
  };
}

/** node-redis under its name (v6) or its alias (v4, v5). */
async function load(name: string): Promise<NodeRedis> {
  return (await import(name)) as unknown as NodeRedis;
}

function versionOf(name: string): string {
  return (createRequire(import.meta.url)(`${name}/package.json`) as { version: string }).version;
}

const cases: { name: string; module: string; major: string }[] = [
  { name: 'node-redis v4', module: 'redis4', major: '4.' },
  { name: 'node-redis v5', module: 'redis5', major: '5.' },
  { name: 'node-redis v6', module: 'redis', major: '6.' },
];

describe('redisStore on every node-redis major the peer dependency allows', () => {
  for (const { name, module, major } of cases) {
    it(name, async () => {
      expect(versionOf(module)).toMatch(new RegExp(`^${major.replace('.', '\\.')}`));
      const { createClient } = await load(module);
      const redis = await startRedis();
      const client = createClient({ url: redis.url, disableOfflineQueue: true, socket: { reconnectStrategy: () => 20, connectTimeout: 500 } });
      client.on('error', () => {});
      await client.connect();
      onTestFinished(async () => {
        if (client.destroy) client.destroy();
        else await client.disconnect?.().catch(() => {});
      });
      const windows = [{ weight: CAP, per: PER, header: 'x-used' }];
      const store = redisStore(client, { key: 'versions', retry: 50 });
      const governor = new Governor({ windows, store, localShare: 0.5 });

      // Atomic: of 14 concurrent asks, exactly the cap is granted (the first call meets NOSCRIPT and loads the script).
      const results = await Promise.allSettled(Array.from({ length: 14 }, () => Promise.resolve(governor.acquire(1, 'normal', 0, undefined))));
      const tickets = results.filter((r): r is PromiseFulfilledResult<Ticket> => r.status === 'fulfilled').map((r) => r.value);
      expect(tickets).toHaveLength(CAP);
      expect(await store.used([PER])).toEqual([CAP]);
      // Cancels free theirs; a commit carrying the venue's count (2) replaces its own request with it.
      for (const ticket of tickets.splice(1)) governor.release(ticket);
      expect(await store.used([PER])).toEqual([1]);
      await store.commit(tickets[0]!.id!, 1, [PER], [2]);
      expect(await store.used([PER])).toEqual([2]);
      // One more ask, so the governor's last look at the fleet's count is 3 (its local share starts from half of it).
      governor.release(await governor.acquire(1, 'normal', 0, undefined));

      // Redis gone: this version's refusal turns the governor degraded, on its local share (5, less the 2 it starts from).
      await redis.stop();
      await expect.poll(async () => {
        await Promise.resolve(governor.acquire(1, 'normal', 0, undefined)).then((t) => governor.release(t), () => {});
        return governor.storeState;
      }, { timeout: 10_000, interval: 20 }).toBe('degraded');
      const local = governor.acquire(1, 'normal', 0, undefined);
      expect(local).toHaveProperty('id', undefined);
      governor.release(local as Ticket);
      // Back: a retry reaches the restarted (empty) Redis, and the governor is shared again.
      await redis.start();
      await expect.poll(() => governor.storeState, { timeout: 10_000, interval: 20 }).toBe('shared');
      expect(governor.stats().degradations).toBe(1);
    });
  }
});
