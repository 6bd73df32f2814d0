/**
 * Options as declarative tables: one check per key of a public options type.
 *
 * A table is typed with `satisfies OptionTable<PublicOptions>`, so a key of the
 * public type without a check, or a check for a key the type lacks, fails the
 * type check; the unknown-key list is the table's own keys. `readOptions` reads
 * each key once (a getter or a Proxy is read exactly once), in table order, and
 * returns what the checks resolve: the defaults applied, the values copied.
 * What depends on several keys at once (a URL's credentials becoming a header,
 * TLS only for https) is resolved after, from the checked values.
 *
 * Checks throw `INVALID_OPTIONS` naming the field (see validate.ts); they never
 * echo a string's content, which may be a secret.
 */
import type { Clock } from './clock.js';
import { promptZero, unrefClock } from './clock.js';
import { checkBoolean, checkInstance, checkKnownKeys, checkNumber, checkObject, checkOneOf, invalid, MAX_TIMEOUT, type NumberRange } from './validate.js';

/** Reads one option as given (undefined when left out) and returns it resolved. */
export type OptionCheck<T = unknown> = (field: string, value: unknown) => T;

/** One check per key of `O`, no more and no less. */
export type OptionTable<O> = { readonly [K in keyof Required<O>]: OptionCheck };

/** What each check of a table resolved, by key. */
export type Checked<T extends Record<string, OptionCheck>> = { -readonly [K in keyof T]: ReturnType<T[K]> };

/** An options object read through its table: an object, no unknown key, each known key read once and checked. */
export function readOptions<T extends Record<string, OptionCheck>>(value: unknown, table: T, expected: string): Checked<T> {
  const options = checkObject('options', value);
  if (!options) throw invalid('options', expected, value);
  const keys = Object.keys(table);
  checkKnownKeys('', options, keys);
  const checked: Record<string, unknown> = {};
  for (const key of keys) checked[key] = table[key]!(key, options[key]);
  return checked as Checked<T>;
}

/** A key resolved together with others after the table (`url` with `urls`): its value, read once, checked there. */
export const together: OptionCheck = (_field, value) => value;

/** An integer within `range`, `fallback` when left out. */
export const integer =
  (fallback: number, range: NumberRange = {}): OptionCheck<number> =>
  (field, value) =>
    checkNumber(field, value, fallback, range);

/** A timeout in ms: an integer up to what `setTimeout` can hold, at least `min`. */
export const timeout = (fallback: number, min = 0): OptionCheck<number> => integer(fallback, { min, max: MAX_TIMEOUT });

export const flag =
  (fallback: boolean): OptionCheck<boolean> =>
  (field, value) =>
    checkBoolean(field, value, fallback);

export const oneOf =
  <T extends string>(allowed: readonly T[], fallback: T): OptionCheck<T> =>
  (field, value) =>
    checkOneOf(field, value, allowed, fallback);

/**
 * A clock with `setTimeout` and `clearTimeout` (xstate's `SimulatedClock` is one); real, unref'd timers when left out.
 * A 0 ms timer runs on the next turn whatever the clock (`promptZero`): an immediate reconnect needs no `increment(0)`.
 */
export const clock: OptionCheck<Clock> = (field, value) => {
  const given = checkInstance(field, value, ['setTimeout', 'clearTimeout']) as Clock | undefined;
  return given ? promptZero(given) : unrefClock;
};
