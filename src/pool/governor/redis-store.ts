/**
 * A budget shared by every process and machine that uses the same Redis key (issue 18, item 4):
 * each call one atomic script (redis-script.ts), each window a sorted set under `{key}:i`.
 *
 * ```ts
 * import { createClient } from 'redis';
 * const client = await createClient({ url: 'redis://10.0.0.5:6379', disableOfflineQueue: true }).on('error', log).connect();
 * const governor = new Governor({ windows, store: redisStore(client, { key: 'binance:key1' }), localShare: 1 / 8 });
 * ```
 *
 * The client is node-redis (`redis`, an optional peer dependency, v4 to v6), used only through
 * `sendCommand`: nothing of it is imported, and any object with that method will do.
 *
 * Every call is bounded by `timeout` ms: a call that does not answer in time counts as Redis being
 * unreachable (the governor then falls back to its local share), whatever the client does with it
 * afterwards (node-redis queues commands while disconnected unless `disableOfflineQueue`).
 */
import { createHash, randomBytes } from 'node:crypto';
import { LifelineError } from '../../errors.js';
import { checkKnownKeys, checkNumber, checkObject, invalid } from '../../validate.js';
import { BUDGET_SCRIPT } from './redis-script.js';
import type { SharedBudgetStore, SharedReply } from './shared-store.js';

/** The one method used of a node-redis client (`RedisClientType`, v4 to v6). */
export interface RedisCommander {
  sendCommand(args: string[]): Promise<unknown>;
}

export interface RedisStoreOptions {
  /** The budget's name: every process using the same key (and Redis) shares one budget. Required. */
  key: string;
  /** ms a reservation not yet sent counts before it frees itself (its process died). Default {@link DEFAULT_REDIS_TTL} (30 000). */
  ttl?: number;
  /** ms a call may take before Redis counts as unreachable. Default {@link DEFAULT_REDIS_TIMEOUT} (200). */
  timeout?: number;
  /** ms between tries of Redis while the governor is degraded. Default {@link DEFAULT_REDIS_RETRY} (1 000). */
  retry?: number;
}

export const DEFAULT_REDIS_TTL = 30_000;
export const DEFAULT_REDIS_TIMEOUT = 200;
export const DEFAULT_REDIS_RETRY = 1_000;

const UNCHECKED = String(Number.MAX_SAFE_INTEGER);
const SHA = createHash('sha1').update(BUDGET_SCRIPT).digest('hex');

/** A shared budget in Redis, for `new Governor({ windows, store })`. */
export function redisStore(client: RedisCommander, options: RedisStoreOptions): SharedBudgetStore {
  if (typeof (client as { sendCommand?: unknown } | undefined)?.sendCommand !== 'function') {
    throw invalid('redisStore client', 'a node-redis client (with `sendCommand`)', client);
  }
  const given = checkObject('redisStore options', options);
  if (!given) throw invalid('redisStore options', 'an object { key, ttl?, timeout?, retry? }', options);
  checkKnownKeys('redisStore options', given, ['key', 'ttl', 'timeout', 'retry']);
  if (typeof given.key !== 'string' || given.key.length === 0 || given.key.length > 256) {
    throw invalid('redisStore options.key', 'a string of 1 to 256 characters', given.key);
  }
  return new RedisStore(client, given.key, {
    ttl: checkNumber('redisStore options.ttl', given.ttl, DEFAULT_REDIS_TTL, { min: 1, max: 86_400_000 }),
    timeout: checkNumber('redisStore options.timeout', given.timeout, DEFAULT_REDIS_TIMEOUT, { min: 1, max: 60_000 }),
    retry: checkNumber('redisStore options.retry', given.retry, DEFAULT_REDIS_RETRY, { min: 1, max: 3_600_000 }),
  });
}

class RedisStore implements SharedBudgetStore {
  readonly retry: number;
  readonly #client: RedisCommander;
  /** A hash tag: every window's key lands on one cluster slot, so one script may touch them all. */
  readonly #prefix: string;
  readonly #ttl: number;
  readonly #timeout: number;
  /** Unique per process: a member's id must never collide with another process's. */
  readonly #idPrefix = randomBytes(6).toString('hex');
  #next = 0;
  #keys: string[] = [];

  constructor(client: RedisCommander, key: string, options: { ttl: number; timeout: number; retry: number }) {
    this.#client = client;
    this.#prefix = `{lifeline:${key}}:`;
    this.#ttl = options.ttl;
    this.#timeout = options.timeout;
    this.retry = options.retry;
  }

  async reserve(weight: number, caps: readonly number[], pers: readonly number[]): Promise<SharedReply> {
    const id = this.#newId();
    const args: string[] = [];
    for (let i = 0; i < pers.length; i++) args.push(String(pers[i]), String(caps[i]));
    // A reservation made after its caller gave up on it (Redis answered late) would count, unsent,
    // until its ttl and a window ran out: 30 s of budget nobody can use. It is cancelled at once.
    const late = (reply: unknown) => {
      if ((reply as number[])[0] === 1) this.cancel(id, weight, pers).catch(() => {});
    };
    const reply = (await this.#run(pers.length, 'reserve', id, weight, args, late)) as number[];
    if (reply[0] === 1) return { id, wait: 0, used: reply.slice(1) };
    return { id: undefined, wait: reply[1]!, used: reply.slice(2) };
  }

  record(weight: number, pers: readonly number[]): string {
    const id = this.#newId();
    // A cap no count reaches: the script's reserve, unchecked.
    const args = pers.flatMap((per) => [String(per), UNCHECKED]);
    this.#run(pers.length, 'reserve', id, weight, args).catch(() => {});
    return id;
  }

  async commit(id: string, weight: number, pers: readonly number[], used?: readonly number[]): Promise<void> {
    await this.#run(pers.length, 'commit', id, weight, pers.flatMap((per, i) => [String(per), String(used?.[i] ?? -1)]));
  }

  async cancel(id: string, weight: number, pers: readonly number[]): Promise<void> {
    await this.#run(pers.length, 'cancel', id, weight, []);
  }

  async add(weights: readonly number[], pers: readonly number[]): Promise<void> {
    const id = this.#newId();
    await this.#run(pers.length, 'add', id, 0, pers.flatMap((per, i) => [String(per), String(Math.ceil(weights[i] ?? 0))]));
  }

  async used(pers: readonly number[]): Promise<number[]> {
    return (await this.#run(pers.length, 'used', 'x', 0, pers.flatMap((per) => [String(per), '0']))) as number[];
  }

  #newId(): string {
    return `${this.#idPrefix}.${(this.#next++).toString(36)}`;
  }

  #keysFor(count: number): string[] {
    while (this.#keys.length < count) this.#keys.push(`${this.#prefix}${this.#keys.length}`);
    return this.#keys.slice(0, count);
  }

  /** One EVALSHA (EVAL once after a server that lost its scripts says NOSCRIPT), bounded by `timeout`. */
  async #run(windows: number, op: string, id: string, weight: number, rest: string[], late?: (reply: unknown) => void): Promise<unknown> {
    const tail = [String(windows), ...this.#keysFor(windows), op, id, String(weight), String(this.#ttl), ...rest];
    return this.#bounded(async () => {
      try {
        return await this.#client.sendCommand(['EVALSHA', SHA, ...tail]);
      } catch (error) {
        if (!String((error as Error)?.message).startsWith('NOSCRIPT')) throw error;
        return await this.#client.sendCommand(['EVAL', BUDGET_SCRIPT, ...tail]);
      }
    }, late);
  }

  /**
   * The call, or a rejection after `timeout` ms. The verdict waits for the check phase
   * (setImmediate): an event loop that was blocked past the timeout (a GC, a burst of work) runs
   * its due timers before it reads its sockets, and a reply already in the socket must win then, or
   * a busy process would count a healthy Redis as unreachable. `late` receives an answer that came
   * after the verdict.
   */
  #bounded<T>(call: () => Promise<T>, late?: (value: T) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        setImmediate(() => {
          if (settled) return;
          settled = true;
          reject(new LifelineError('RATE_LIMITED', `redis did not answer within ${this.#timeout} ms`));
        });
      }, this.#timeout);
      timer.unref();
      call().then(
        (value) => {
          clearTimeout(timer);
          if (settled) return late?.(value);
          settled = true;
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          if (settled) return;
          settled = true;
          reject(error as Error);
        },
      );
    });
  }
}
