/**
 * Option checks shared by `ClientPool.connect` and `Feed.connect`. Each check
 * either returns the value (or its default) or throws `INVALID_OPTIONS` with a
 * message that names the field, what was expected, and what came.
 */
import { LifelineError } from './errors.js';

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
export function isArray(value: unknown): value is unknown[] {
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

/** The longest timeout accepted (about 24 days): what `setTimeout` can hold. */
export const MAX_TIMEOUT = 2_147_483_647;

/**
 * A URL option, as a string or a `URL`, whose scheme is one of `schemes` (e.g. `['http:', 'https:']`);
 * `kind` names them for messages (`an http:// or https://`). Returns a copy: a URL (or a Proxy of
 * one, or a lookalike) is read once, here, and can fail only here. The URL itself is never echoed:
 * it may carry a password.
 */
export function checkUrl(field: string, value: unknown, schemes: readonly string[], kind: string): URL {
  let url: URL | undefined;
  if (typeof value === 'string') {
    try {
      url = new URL(value);
    } catch {
      // not a URL at all
    }
  } else {
    try {
      if (value instanceof URL) url = new URL(value.href);
    } catch {
      // not a usable URL
    }
  }
  if (url === undefined) throw invalid(field, `${kind} URL string`, value);
  if (!schemes.includes(url.protocol)) throw invalidSaying(field, `${kind} URL`, `a ${url.protocol} URL`);
  return url;
}

/** A URL option as checked: the URL, its text as given (a URL object's `href`), and the field that named it. */
export interface CheckedUrl {
  url: URL;
  text: string;
  field: string;
}

/** One URL (`url`) or several (`urls`), never both, each checked by `checkUrl`. */
export function checkUrls(url: unknown, urls: unknown, schemes: readonly string[], kind: string, max: number): CheckedUrl[] {
  return checkUrlList(url, urls, kind, max, (field, value) => {
    const checked = checkUrl(field, value, schemes, kind);
    return { url: checked, text: typeof value === 'string' ? value : checked.href, field };
  });
}

/** `url` or `urls` (never both; a non-empty array of at most `max`), each item checked by `one` under its field name. */
export function checkUrlList<T>(url: unknown, urls: unknown, kind: string, max: number, one: (field: string, value: unknown) => T): T[] {
  if (urls === undefined) return [one('url', url)];
  if (url !== undefined) throw invalidSaying('url', 'left out when `urls` is given', 'both');
  const expected = `a non-empty array of ${kind.replace(/^an? /, '')} URLs`;
  const items = checkArray('urls', urls, expected);
  if (items.length === 0) throw invalid('urls', expected, items);
  if (items.length > max) throw invalidSaying('urls', `at most ${max} URLs`, `${items.length}`);
  return items.map((item, i) => one(`urls[${i}]`, item));
}
