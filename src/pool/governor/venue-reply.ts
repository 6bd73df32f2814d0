/**
 * What a venue says about the budget in a response: `Retry-After` (RFC 9110, 10.2.3: seconds,
 * or an HTTP date) and used-weight headers (`x-mbx-used-weight-1m: 1180`).
 */
import { MAX_TIMEOUT } from '../../validate.js';
import type { ResponseHeaders } from '../response.js';

/** The first value of header `name` (lower-case), or undefined. */
export function headerValue(headers: ResponseHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * `Retry-After` in ms from `wallNow` (ms since the epoch), or undefined when it is absent or
 * unreadable. Capped at what a timer can hold; a date in the past is 0.
 */
export function retryAfterMs(value: string | undefined, wallNow: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  let ms: number;
  if (/^\d+$/.test(text)) ms = Number(text) * 1_000;
  else {
    const at = Date.parse(text);
    if (Number.isNaN(at)) return undefined;
    ms = at - wallNow;
  }
  return Math.min(Math.max(0, ms), MAX_TIMEOUT);
}

/**
 * The venue's used weight for each window that names a `header`, -1 where it gave none (or garbage);
 * undefined when it gave none at all: what a shared store's commit takes to correct the fleet's count.
 */
export function usedWeights(headers: ResponseHeaders, windows: readonly { header?: string | undefined }[]): number[] | undefined {
  let found: number[] | undefined;
  for (let i = 0; i < windows.length; i++) {
    const header = windows[i]!.header;
    const used = header === undefined ? undefined : usedWeight(headerValue(headers, header));
    if (used === undefined) continue;
    found ??= windows.map(() => -1);
    found[i] = used;
  }
  return found;
}

/** A used-weight header's value: a non-negative integer, else undefined (a venue's garbage corrects nothing). */
export function usedWeight(value: string | undefined): number | undefined {
  if (value === undefined || !/^\s*\d{1,15}\s*$/.test(value)) return undefined;
  return Number(value);
}
