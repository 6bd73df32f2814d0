/**
 * Header checks and the flat header arrays undici takes without re-parsing
 * (`[name, value, name, value, ...]`). Default headers are validated and
 * flattened once at `connect()`, so a request without headers of its own
 * costs nothing here.
 *
 * Headers come as an object (`{ accept: 'application/json' }`) or as
 * `[name, value]` pairs: an array of pairs, a `Map`, or a fetch `Headers`
 * (anything iterable that yields pairs). A string, an array of anything but
 * pairs, or an object that throws when read is refused naming the field, never
 * turned into headers: `Object.keys` of a string or an array of pairs would
 * send `0: a`, and of a `Map` or `Headers` would send nothing at all.
 */
import { LifelineError, type ErrorCode } from '../errors.js';
import { describeValue } from '../validate.js';

/** RFC 9110 token characters: what a header name may contain. */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** CR, LF or NUL in a value would split the header block: header injection. */
const UNSAFE_VALUE = /[\r\n\0]/;
/** What undici lets through in a value (tab, space, visible ASCII, Latin-1); it fails the request otherwise. */
const VALUE_CHARS = /^[\t\x20-\x7e\x80-\xff]*$/;
/** More pairs than any real request has: an endless iterable is refused, not followed forever. */
const MAX_PAIRS = 10_000;

export type HeaderValue = string | number | readonly string[] | undefined;
/** Headers as an object, or as `[name, value]` pairs (an array of pairs, a `Map`, a fetch `Headers`). */
export type HeaderInput = Record<string, HeaderValue> | Iterable<readonly [string, HeaderValue]>;

const FORMS = 'an object, or [name, value] pairs (an array of pairs, a Map or a Headers)';

/** Checks and flattens headers; names are lower-cased. Throws `code` naming the header (never its value). */
export function flattenHeaders(headers: unknown, code: ErrorCode, field: string): string[] {
  const flat: string[] = [];
  for (const [name, value] of headerEntries(headers, code, field)) {
    if (value === undefined) continue;
    if (!TOKEN.test(name)) {
      throw new LifelineError(code, `Expected \`${field}\` names to be HTTP tokens, got an invalid name of ${name.length} characters`);
    }
    const lower = name.toLowerCase();
    for (const item of headerValues(value, code, `${field}.${lower}`)) {
      if (typeof item !== 'string' && !(typeof item === 'number' && Number.isFinite(item))) {
        throw new LifelineError(code, `Expected \`${field}.${lower}\` to be a string or a finite number, got ${describeValue(item)}`);
      }
      const text = String(item);
      if (UNSAFE_VALUE.test(text)) {
        throw new LifelineError(code, `Expected \`${field}.${lower}\` to contain no CR, LF or NUL character`);
      }
      if (!VALUE_CHARS.test(text)) {
        throw new LifelineError(
          code,
          `Expected \`${field}.${lower}\` to contain only tab, space, visible ASCII and Latin-1 characters (encode the rest), got a string of ${text.length} characters`,
        );
      }
      flat.push(lower, text);
    }
  }
  return flat;
}

/** The `[name, value]` entries of headers in any accepted form, each read once; a value is still unchecked. */
function headerEntries(headers: unknown, code: ErrorCode, field: string): [string, unknown][] {
  if (typeof headers !== 'object' || headers === null) {
    throw new LifelineError(code, `Expected \`${field}\` to be ${FORMS}, got ${describeValue(headers)}`);
  }
  let iterate: unknown;
  try {
    iterate = (headers as { [Symbol.iterator]?: unknown })[Symbol.iterator];
  } catch {
    throw new LifelineError(code, `Expected \`${field}\` to be ${FORMS}, got one that cannot be read`);
  }
  return typeof iterate === 'function' ? pairEntries(headers as Iterable<unknown>, code, field) : recordEntries(headers, code, field);
}

function recordEntries(headers: object, code: ErrorCode, field: string): [string, unknown][] {
  let names: string[];
  try {
    names = Object.keys(headers);
  } catch {
    throw new LifelineError(code, `Expected \`${field}\` to be a plain object, got one whose keys cannot be listed`);
  }
  return names.map((name) => {
    try {
      return [name, (headers as Record<string, unknown>)[name]];
    } catch {
      const where = TOKEN.test(name) ? `${field}.${name.toLowerCase()}` : field;
      throw new LifelineError(code, `Expected \`${where}\` to be a readable value, got a getter that threw`);
    }
  });
}

function pairEntries(headers: Iterable<unknown>, code: ErrorCode, field: string): [string, unknown][] {
  const entries: [string, unknown][] = [];
  let tooMany = false;
  let notPair: { item: unknown } | undefined;
  try {
    for (const pair of headers) {
      if (entries.length === MAX_PAIRS) {
        tooMany = true;
        break;
      }
      if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string') {
        notPair = { item: pair };
        break;
      }
      entries.push([pair[0], pair[1]]);
    }
  } catch {
    throw new LifelineError(code, `Expected \`${field}\` to be ${FORMS}, got an iterable that threw while read`);
  }
  if (tooMany) throw new LifelineError(code, `Expected \`${field}\` to be at most ${MAX_PAIRS} pairs, got more`);
  if (notPair) {
    throw new LifelineError(code, `Expected \`${field}[${entries.length}]\` to be a [name, value] pair with a string name, got ${describeValue(notPair.item)}`);
  }
  return entries;
}

/** A header's values, read once; an array (or Proxy of one) that throws when read is refused, naming the header. */
function headerValues(value: unknown, code: ErrorCode, field: string): readonly unknown[] {
  try {
    return Array.isArray(value) ? Array.from({ length: value.length as number }, (_, i) => (value as unknown[])[i]) : [value];
  } catch {
    throw new LifelineError(code, `Expected \`${field}\` to be a string or an array of strings, got one that cannot be read`);
  }
}

/** Request headers override default headers of the same name; the rest of the defaults are kept. */
export function mergeHeaders(defaults: readonly string[], own: readonly string[]): string[] {
  if (own.length === 0) return defaults as string[];
  if (defaults.length === 0) return own as string[];
  const overridden = new Set<string>();
  for (let i = 0; i < own.length; i += 2) overridden.add(own[i]!);
  const merged: string[] = [];
  for (let i = 0; i < defaults.length; i += 2) {
    if (!overridden.has(defaults[i]!)) merged.push(defaults[i]!, defaults[i + 1]!);
  }
  for (const item of own) merged.push(item);
  return merged;
}
