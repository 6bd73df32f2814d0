/**
 * Option checks shared by `ClientPool.connect` and `Feed.connect`. Each check
 * either returns the value (or its default) or throws `INVALID_OPTIONS` with a
 * message that names the field, what was expected, and what came.
 */
import { LifelineError } from './errors.js';
import { createBackoff, type BackoffDefaults, type BackoffOptions, type BackoffPolicy, type Jitter } from './machines/backoff.js';

/** A short, safe rendering of a value for an error message: never a long or secret string. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  switch (typeof value) {
    case 'string':
      return `a string of ${value.length} characters`;
    case 'number':
    case 'boolean':
    case 'bigint':
      return `${String(value)} (${typeof value})`;
    case 'undefined':
      return 'undefined';
    case 'function':
      return 'a function';
    case 'symbol':
      return 'a symbol';
    default:
      return `an object`;
  }
}

export function invalid(field: string, expected: string, got: unknown): LifelineError {
  return invalidSaying(field, expected, describeValue(got));
}

/** As `invalid`, with the description of what came written by the caller. */
export function invalidSaying(field: string, expected: string, got: string): LifelineError {
  return new LifelineError('INVALID_OPTIONS', `Expected \`${field}\` to be ${expected}, got ${got}`);
}

export interface NumberRange {
  min?: number;
  max?: number;
  integer?: boolean;
}

export function checkNumber(field: string, value: unknown, fallback: number, range: NumberRange = {}): number {
  if (value === undefined) return fallback;
  const { min = 0, max = Number.MAX_SAFE_INTEGER, integer = true } = range;
  const expected = `${integer ? 'an integer' : 'a number'} from ${min} to ${max}`;
  if (typeof value !== 'number' || Number.isNaN(value) || value < min || value > max) {
    throw invalid(field, expected, value);
  }
  if (integer && !Number.isInteger(value)) throw invalid(field, expected, value);
  return value;
}

export function checkBoolean(field: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalid(field, 'a boolean', value);
  return value;
}

export function checkFunction<T extends (...args: never[]) => unknown>(field: string, value: unknown): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw invalid(field, 'a function', value);
  return value as T;
}

export function checkObject(field: string, value: unknown): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(field, 'an object', value);
  return value as Record<string, unknown>;
}

export function checkOneOf<T extends string>(field: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalid(field, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value);
  }
  return value as T;
}

/** Refuses keys an options object does not know, so a typo is not silently ignored. */
export function checkKnownKeys(field: string, value: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new LifelineError(
        'INVALID_OPTIONS',
        `Unknown option \`${field ? `${field}.` : ''}${key}\`; known options are ${known.join(', ')}`,
      );
    }
  }
}


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
  if (delay) checked.delay = delay;
  return createBackoff(checked, defaults);
}

export function checkStrings(field: string, value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid(field, 'an array of strings', value);
  value.forEach((item, i) => {
    if (typeof item !== 'string') throw invalid(`${field}[${i}]`, 'a string', item);
  });
  return [...(value as string[])];
}
