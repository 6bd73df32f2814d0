/**
 * Header checks and the flat header arrays undici takes without re-parsing
 * (`[name, value, name, value, ...]`). Default headers are validated and
 * flattened once at `connect()`, so a request without headers of its own
 * costs nothing here.
 */
import { LifelineError, type ErrorCode } from '../errors.js';

/** RFC 9110 token characters: what a header name may contain. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** CR, LF or NUL in a value would split the header block: header injection. */
const UNSAFE_VALUE = /[\r\n\0]/;

export type HeaderInput = Record<string, string | number | readonly string[] | undefined>;

/** Checks and flattens headers; names are lower-cased. Throws `code` naming the header (never its value). */
export function flattenHeaders(headers: HeaderInput, code: ErrorCode, field: string): string[] {
  const flat: string[] = [];
  let names: string[];
  try {
    names = Object.keys(headers);
  } catch {
    throw new LifelineError(code, `Expected \`${field}\` to be a plain object, got one whose keys cannot be listed`);
  }
  for (const name of names) {
    let value: unknown;
    try {
      value = headers[name];
    } catch {
      const where = TOKEN.test(name) ? `${field}.${name.toLowerCase()}` : field;
      throw new LifelineError(code, `Expected \`${where}\` to be readable, got a getter that threw`);
    }
    if (value === undefined) continue;
    if (!TOKEN.test(name)) {
      throw new LifelineError(code, `Expected \`${field}\` names to be HTTP tokens, got an invalid name of ${name.length} characters`);
    }
    const lower = name.toLowerCase();
    for (const item of headerValues(value, code, `${field}.${lower}`)) {
      if (typeof item !== 'string' && typeof item !== 'number') {
        throw new LifelineError(code, `Expected \`${field}.${lower}\` to be a string, got ${typeof item}`);
      }
      const text = String(item);
      if (UNSAFE_VALUE.test(text)) {
        throw new LifelineError(code, `Expected \`${field}.${lower}\` to contain no CR, LF or NUL character`);
      }
      flat.push(lower, text);
    }
  }
  return flat;
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
