/**
 * The reconnect delay policy: exponential growth from `initial` by `factor`,
 * capped at `max`, with jitter so that connections dropped together do not
 * reconnect together (a venue restart must not become a reconnect storm).
 *
 * Pure: the delay is a function of the attempt number and a random source, so
 * a whole schedule can be checked at once with a fixed random.
 */

import { checkFunction, checkKnownKeys, checkNumber, checkObject, checkOneOf } from '../validate.js';

export type Jitter = 'full' | 'equal' | 'none';

export interface BackoffOptions {
  /** Delay before the first retry, in ms. */
  initial?: number;
  /** Upper bound of any delay, in ms. */
  max?: number;
  /** Growth per failed attempt. */
  factor?: number;
  /**
   * `full`: uniform in [0, d]; `equal`: uniform in [d/2, d]; `none`: exactly d,
   * where d = min(max, initial * factor^(attempt - 1)).
   */
  jitter?: Jitter;
  /** Replaces the whole policy: the delay in ms before retry number `attempt` (1-based). */
  delay?: (attempt: number) => number;
}

export type BackoffPolicy = (attempt: number, random: () => number) => number;

export interface BackoffDefaults {
  readonly initial: number;
  readonly max: number;
  readonly factor: number;
  readonly jitter: Jitter;
}

/** The slot (HTTP connection) schedule: 100 ms doubling to 5 s, full jitter. */
export const SLOT_BACKOFF: BackoffDefaults = { initial: 100, max: 5_000, factor: 2, jitter: 'full' };

/** The feed (WebSocket) schedule: 100 ms doubling to 30 s, full jitter. */
export const FEED_BACKOFF: BackoffDefaults = { initial: 100, max: 30_000, factor: 2, jitter: 'full' };

/** The delay before retry `attempt` without jitter: the ceiling jitter draws under. */
export function ceilingDelay(attempt: number, policy: BackoffDefaults): number {
  const exponent = Math.max(0, attempt - 1);
  // factor ** exponent overflows to Infinity for a huge attempt count: whatever is not finite is past `max`.
  const raw = policy.initial * Math.pow(policy.factor, exponent);
  return Number.isFinite(raw) ? Math.min(policy.max, raw) : policy.max;
}

export function createBackoff(options: BackoffOptions | undefined, defaults: BackoffDefaults): BackoffPolicy {
  const userDelay = options?.delay;
  if (userDelay) {
    return (attempt) => {
      const value = userDelay(attempt);
      // A user's function that returns garbage must not stop reconnects or spin the CPU.
      return Number.isFinite(value) && value >= 0 ? value : defaults.initial;
    };
  }
  const policy: BackoffDefaults = {
    initial: options?.initial ?? defaults.initial,
    max: options?.max ?? defaults.max,
    factor: options?.factor ?? defaults.factor,
    jitter: options?.jitter ?? defaults.jitter,
  };
  return (attempt, random) => {
    const ceiling = ceilingDelay(attempt, policy);
    switch (policy.jitter) {
      case 'none':
        return ceiling;
      case 'equal':
        return Math.round(ceiling / 2 + random() * (ceiling / 2));
      case 'full':
        return Math.round(random() * ceiling);
    }
  };
}

/** A user's `backoff` option, checked (`INVALID_OPTIONS`), as the policy a slot or feed follows. */
const BACKOFF_KEYS = ['initial', 'max', 'factor', 'jitter', 'delay'] as const;

export function checkBackoff(field: string, value: unknown, defaults: BackoffDefaults): BackoffPolicy {
  const options = checkObject(field, value);
  if (!options) return createBackoff(undefined, defaults);
  checkKnownKeys(field, options, BACKOFF_KEYS);
  const initial = checkNumber(`${field}.initial`, options.initial, defaults.initial);
  const max = checkNumber(`${field}.max`, options.max, Math.max(defaults.max, initial), { min: initial });
  const checked: BackoffOptions = {
    initial,
    max,
    factor: checkNumber(`${field}.factor`, options.factor, defaults.factor, { min: 1, max: 100, integer: false }),
    jitter: checkOneOf<Jitter>(`${field}.jitter`, options.jitter, ['full', 'equal', 'none'], defaults.jitter),
  };
  const delay = checkFunction<(attempt: number) => number>(`${field}.delay`, options.delay);
  // A delay function that throws would fail the slot or feed actor; NaN makes the policy fall back to `initial`.
  if (delay) {
    checked.delay = (attempt) => {
      try {
        return delay(attempt);
      } catch {
        return Number.NaN;
      }
    };
  }
  return createBackoff(checked, defaults);
}
