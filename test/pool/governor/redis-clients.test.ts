/**
 * redisStore on each major version of node-redis the peer dependency allows (v4, v5, v6), against a
 * real redis-server: the budget held atomically (EVALSHA, EVAL after NOSCRIPT), a cancel, the venue's
 * correction in a commit, and Redis killed and restarted (each version's way of refusing commands
 * while offline turns the governor degraded, and a retry brings it back).
 *
 * v6 is the devDependency. v4 and v5 are not dependencies of the project: they are loaded from the
 * folder LIFELINE_REDIS_VERSIONS names, a node_modules holding them under the aliases `redis4` and
 * `redis5`:
 *   npm install --prefix /tmp/redis-versions redis4@npm:redis@4 redis5@npm:redis@5
 *   LIFELINE_REDIS_VERSIONS=/tmp/redis-versions/node_modules npx vitest run test/pool/governor/redis-clients.test.ts
 * Without it their cases are skipped, and say so.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Governor, redisStore, type RedisCommander } from '../../../src/index.js';
import type { Ticket } from '../../../src/pool/governor/governor.js';
import { startRedis } from '../../helpers/redis-server.js';

const VERSIONS = process.env.LIFELINE_REDIS_VERSIONS;
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

/** node-redis as this project has it (v6), or an aliased copy from LIFELINE_REDIS_VERSIONS. */
async function load(alias: string | undefined): Promise<NodeRedis> {
  if (alias === undefined) return (await import('redis')) as unknown as NodeRedis;
  const entry = createRequire(join(VERSIONS!, 'package.json')).resolve(alias, { paths: [VERSIONS!] });
  return (await import(pathToFileURL(entry).href)) as NodeRedis;
}

async function versionOf(alias: string | undefined): Promise<string> {
  const base = alias === undefined ? 'redis' : alias;
  const require = createRequire(alias === undefined ? import.meta.url : join(VERSIONS!, 'package.json'));
  return (require(`${base}/package.json`) as { version: string }).version;
}

const cases: { name: string; alias: string | undefined; major: string }[] = [
  { name: 'node-redis v4', alias: 'redis4', major: '4.' },
  { name: 'node-redis v5', alias: 'redis5', major: '5.' },
  { name: 'node-redis v6 (the devDependency)', alias: undefined, major: '6.' },
];

describe('redisStore on every node-redis major the peer dependency allows', () => {
  for (const { name, alias, major } of cases) {
    const missing = alias !== undefined && VERSIONS === undefined;
    it.skipIf(missing)(`${name}${missing ? ': skipped, LIFELINE_REDIS_VERSIONS is not set (see the header)' : ''}`, async () => {
      expect(await versionOf(alias)).toMatch(new RegExp(`^${major.replace('.', '\\.')}`));
      const { createClient } = await load(alias);
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
