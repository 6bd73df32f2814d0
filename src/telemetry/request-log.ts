/**
 * The `requestLog` option of a pool: a ring of its recent requests, read with `pool.history()`
 * beside the slots' state changes. Off by default: then a request that nobody else watches
 * takes no timestamps and makes no record.
 */
import { checkKnownKeys, checkNumber, checkObject } from '../validate.js';

export interface RequestLogOptions {
  /** Requests kept (each attempt of a `pool.request` is one), newest last; 0 turns the log off. Default {@link DEFAULT_REQUEST_LOG_SIZE}. */
  size?: number;
}

/** Requests kept when `requestLog` is given without a `size`. */
export const DEFAULT_REQUEST_LOG_SIZE = 500;

/** The most a log may keep: a record is about 0.5 KB. */
export const MAX_REQUEST_LOG_SIZE = 100_000;

const KEYS = ['size'];

/** The ring's size: 0 (off) when the option is left out. */
export function checkRequestLog(field: string, value: unknown): number {
  const options = checkObject(field, value);
  if (!options) return 0;
  checkKnownKeys(field, options, KEYS);
  return checkNumber(`${field}.size`, options.size, DEFAULT_REQUEST_LOG_SIZE, { max: MAX_REQUEST_LOG_SIZE });
}
