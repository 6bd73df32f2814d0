/**
 * Option checks shared by `ClientPool.connect` and `Feed.connect`. Each check
 * either returns the value (or its default) or throws `INVALID_OPTIONS` with a
 * message that names the field, what was expected, and what came.
 */
import type { TlsOptions } from './actors/dial.js';
import { LifelineError } from './errors.js';
import { createBackoff, type BackoffDefaults, type BackoffOptions, type BackoffPolicy, type Jitter } from './machines/backoff.js';

/** A short, safe rendering of a value for an error message: never a long or secret string. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (isArray(value)) {
    try {
      return `an array of ${value.length}`;
    } catch {
      return 'an array';
    }
  }
  switch (typeof value) {
    case 'string':
      return `a string of ${value.length} characters`;
    case 'number':
    case 'boolean':
      return `${String(value)} (${typeof value})`;
    case 'bigint': {
      // A bigint can have a million digits: an error message is not the place for them.
      const digits = String(value);
      return `${digits.length > 24 ? `a ${digits.length}-digit number` : digits} (bigint)`;
    }
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

/**
 * `instanceof` that never throws: it asks a Proxy for its prototype, and a revoked
 * Proxy (or a `getPrototypeOf` trap that throws) answers with a TypeError. Such a
 * value is simply not an instance, and is refused as one, naming its field.
 */
export function isInstance(value: unknown, type: abstract new (...args: never[]) => unknown): boolean {
  try {
    return value instanceof type;
  } catch {
    return false;
  }
}

/** `Array.isArray` throws for a revoked Proxy; such a value is simply not an array. */
function isArray(value: unknown): value is unknown[] {
  try {
    return Array.isArray(value);
  } catch {
    return false;
  }
}

/**
 * An options object as plain data: a copy of its own enumerable properties, read
 * once, here. A getter or Proxy trap that throws becomes `INVALID_OPTIONS` naming
 * the field instead of a TypeError from deep inside connect(); a key inherited
 * from a polluted `Object.prototype` (`tls`, `rejectUnauthorized`) is not read;
 * and no later check can see a value different from the one validated.
 */
export function checkObject(field: string, value: unknown): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || isArray(value)) throw invalid(field, 'an object', value);
  let keys: string[];
  try {
    keys = Object.keys(value);
  } catch {
    throw invalidSaying(field, 'a plain object', 'one whose keys cannot be listed');
  }
  // No prototype: an own `__proto__` key stays a key (and is refused as unknown) instead of becoming one.
  const copy = Object.create(null) as Record<string, unknown>;
  for (const key of keys) {
    try {
      copy[key] = (value as Record<string, unknown>)[key];
    } catch {
      throw invalidSaying(field === 'options' ? key : `${field}.${key}`, 'a readable value', 'a getter that threw');
    }
  }
  return copy;
}

/** An object used for its methods (a clock): kept as it is, prototype and all. */
export function checkInstance(field: string, value: unknown, methods: readonly string[]): object | undefined {
  if (value === undefined) return undefined;
  let ok = typeof value === 'object' && value !== null;
  try {
    ok &&= methods.every((method) => typeof (value as Record<string, unknown>)[method] === 'function');
  } catch {
    ok = false;
  }
  if (!ok) throw invalid(field, `an object with ${methods.join(', ').replace(/, (\w+)$/, ' and $1')}`, value);
  return value as object;
}

/** The items of an array, read once by index (a hole reads as undefined, so it is checked like any item). */
export function checkArray(field: string, value: unknown, expected: string): unknown[] {
  if (!isArray(value)) throw invalid(field, expected, value);
  try {
    return Array.from({ length: value.length }, (_, i) => value[i]);
  } catch {
    throw invalidSaying(field, expected, 'an array whose items cannot be read');
  }
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

export function checkStrings(field: string, value: unknown): string[] {
  if (value === undefined) return [];
  const items = checkArray(field, value, 'an array of strings');
  items.forEach((item, i) => {
    if (typeof item !== 'string') throw invalid(`${field}[${i}]`, 'a string', item);
  });
  return items as string[];
}

/**
 * A user's random source, guarded: a value outside [0, 1) (NaN would make every
 * backoff delay NaN, which timers treat as 1 ms: a reconnect storm) or a throw
 * falls back to `Math.random`.
 */
export function checkRandom(field: string, value: unknown): () => number {
  const random = checkFunction<() => number>(field, value);
  if (!random) return Math.random;
  return () => {
    try {
      const r = random();
      return typeof r === 'number' && r >= 0 && r < 1 ? r : Math.random();
    } catch {
      return Math.random();
    }
  };
}

const TLS_KEYS = ['ca', 'cert', 'key', 'rejectUnauthorized', 'servername'] as const;

const isPem = (value: unknown) => typeof value === 'string' || ArrayBuffer.isView(value);

/** A PEM value, or (`list`) an array of them, copied so what tls.connect reads is what was checked. */
function checkPem(field: string, value: unknown, list: boolean): unknown {
  if (value === undefined) return undefined;
  const expected = list ? 'a PEM string or Buffer, or an array of them' : 'a PEM string or Buffer';
  if (!list || !isArray(value)) {
    if (!isPem(value)) throw invalid(field, expected, value);
    return value;
  }
  const items = checkArray(field, value, expected);
  items.forEach((item, i) => {
    if (!isPem(item)) throw invalid(`${field}[${i}]`, 'a PEM string or Buffer', item);
  });
  return items;
}

/**
 * TLS options, checked whatever the scheme (a wrong type is a bug even where it
 * is unused). `rejectUnauthorized` must be a real boolean: a falsy 0 or '' must
 * not turn certificate verification off.
 */
export function checkTls(field: string, value: unknown): TlsOptions | undefined {
  const tls = checkObject(field, value);
  if (!tls) return undefined;
  checkKnownKeys(field, tls, TLS_KEYS);
  const ca = checkPem(`${field}.ca`, tls.ca, true);
  const cert = checkPem(`${field}.cert`, tls.cert, false);
  const key = checkPem(`${field}.key`, tls.key, false);
  const servername = tls.servername;
  if (servername !== undefined && (typeof servername !== 'string' || servername === '')) {
    throw invalid(`${field}.servername`, 'a non-empty string', servername);
  }
  const checked: TlsOptions = { rejectUnauthorized: checkBoolean(`${field}.rejectUnauthorized`, tls.rejectUnauthorized, true) };
  if (ca !== undefined) checked.ca = ca as TlsOptions['ca'];
  if (cert !== undefined) checked.cert = cert as TlsOptions['cert'];
  if (key !== undefined) checked.key = key as TlsOptions['key'];
  if (servername !== undefined) checked.servername = servername;
  return checked;
}

/**
 * Runs an options resolver; whatever it throws that is not already a
 * `LifelineError` (a hostile Proxy or toString deep inside a value) becomes
 * `INVALID_OPTIONS`, so connect() throws nothing else.
 */
export function guardOptions<T>(resolve: () => T): T {
  try {
    return resolve();
  } catch (error) {
    if (error instanceof LifelineError) throw error;
    throw new LifelineError('INVALID_OPTIONS', 'Expected `options` to be plain data, but reading them threw', { cause: error });
  }
}
