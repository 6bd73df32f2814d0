/**
 * The governor's and the signer's options on a pool (`governor`, `sign`) and on a request
 * (`weight`, `priority`, `sign`), checked as the others are: INVALID_OPTIONS at connect,
 * INVALID_REQUEST per call, naming the field and what came.
 */
import { LifelineError } from '../../errors.js';
import { describeValue, invalid, isInstance } from '../../validate.js';
import { Governor } from './governor.js';
import { PRIORITIES, type Priority } from './governor-options.js';
import type { SignHook } from './sign.js';

/** The most weight one request may carry: far above any venue's, far below float trouble. */
export const MAX_WEIGHT = 1_000_000;

/** The `governor` option of a pool. */
export function checkGovernor(value: unknown): Governor | undefined {
  if (value === undefined) return undefined;
  // isInstance: a revoked Proxy is refused, not thrown past the check (as `dialLimiter`).
  if (isInstance(value, Governor)) return value as Governor;
  throw invalid('governor', 'a Governor (new Governor({ windows: [{ weight, per }] }))', value);
}

/** The `sign` option of a pool: a function. */
export function checkSignOption(field: string, value: unknown): SignHook | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'function') return value as SignHook;
  throw invalid(field, 'a function (request) => { headers?, query? }', value);
}

function invalidRequest(field: string, expected: string, got: unknown): LifelineError {
  return new LifelineError('INVALID_REQUEST', `Expected \`${field}\` to be ${expected}, got ${describeValue(got)}`);
}

/** A request's `weight`: an integer from 1. */
export function checkWeight(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_WEIGHT) {
    throw invalidRequest('weight', `an integer from 1 to ${MAX_WEIGHT}`, value);
  }
  return value;
}

export function checkPriority(value: unknown): Priority | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !(PRIORITIES as readonly string[]).includes(value)) {
    throw invalidRequest('priority', `one of ${PRIORITIES.map((p) => `'${p}'`).join(', ')}`, value);
  }
  return value as Priority;
}

/** A request's `sign`: a hook of its own, or `false` (a public endpoint: the pool's hook is skipped). */
export function checkSignRequest(value: unknown): SignHook | false | undefined {
  if (value === undefined || value === false || typeof value === 'function') return value as SignHook | false | undefined;
  throw invalidRequest('sign', 'a function (request) => { headers?, query? }, or false', value);
}
