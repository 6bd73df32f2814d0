/**
 * The options of a `Governor`, declared and checked once: each default in one constant.
 */
import type { Clock } from '../../clock.js';
import { unrefClock } from '../../clock.js';
import type { MeterLike } from '../../telemetry/meter.js';
import { METER_METHODS } from '../../telemetry/otel.js';
import type { SharedBudgetStore } from './shared-store.js';
import { checkArray, checkInstance, checkKnownKeys, checkNumber, checkObject, invalid, invalidSaying, MAX_TIMEOUT } from '../../validate.js';

/** A request's class: `order` may spend the whole budget, `normal` all but `reserve.order`, `background` all but both reserves. */
export type Priority = 'order' | 'normal' | 'background';

/** Highest first: the order waiters are served in. */
export const PRIORITIES: readonly Priority[] = ['order', 'normal', 'background'];

export interface GovernorWindow {
  /** Weight the venue allows per window. */
  weight: number;
  /** The window's length, in ms. */
  per: number;
  /** A response header in which the venue reports the weight used in this window (`x-mbx-used-weight-1m`); it corrects this process's count and, with a shared `store`, the fleet's. Default none. */
  header?: string;
}

export interface GovernorOptions {
  /** The venue's limits, each a weight per duration; a request goes only when every window has room. At least one. */
  windows: GovernorWindow[];
  /**
   * Shares of every window kept for the higher priorities: `order` (0 to 1) only order requests
   * may spend, `normal` only order and normal ones. Default {@link DEFAULT_RESERVE} (none).
   */
  reserve?: { order?: number; normal?: number };
  /** Statuses that pause every pool on the governor until `Retry-After`, or `pauseDefault`. Default {@link DEFAULT_PAUSE_STATUSES} ([429]). */
  pauseStatuses?: number[];
  /** Statuses that mean a ban: the same pause, state `banned`, `banDefault` without `Retry-After`. Default {@link DEFAULT_BAN_STATUSES} ([418]). */
  banStatuses?: number[];
  /** The pause after a pause status without `Retry-After`, in ms. Default {@link DEFAULT_PAUSE} (60 000). */
  pauseDefault?: number;
  /** The pause after a ban status without `Retry-After`, in ms. Default {@link DEFAULT_BAN} (120 000). */
  banDefault?: number;
  /** Runs the windows and pauses; tests pass xstate's `SimulatedClock`. Default: real, unref'd timers, `performance.now()`. */
  clock?: Clock;
  /** An OpenTelemetry Meter: `lifeline.governor.pauses`, `lifeline.governor.rate_limited` and `lifeline.governor.degraded` counters. Default none. */
  meter?: MeterLike;
  /**
   * A budget shared across processes and machines (`redisStore(client, { key })`). Default none:
   * this process's own count. See the README's "Shared across processes".
   */
  store?: SharedBudgetStore;
  /**
   * The share of every window this process may spend on its own while `store` is unreachable
   * (0 to 1; 1 / the processes on the key keeps the fleet within the budget). Default
   * {@link DEFAULT_LOCAL_SHARE} (0.1). Only with `store`.
   */
  localShare?: number;
}

export const DEFAULT_RESERVE = Object.freeze({ order: 0, normal: 0 });
export const DEFAULT_PAUSE_STATUSES: readonly number[] = Object.freeze([429]);
export const DEFAULT_BAN_STATUSES: readonly number[] = Object.freeze([418]);
export const DEFAULT_PAUSE = 60_000;
export const DEFAULT_BAN = 120_000;
export const DEFAULT_LOCAL_SHARE = 0.1;
const MAX_WINDOWS = 16;
/** A header name as undici hands it over, lower-cased: an RFC 9110 token. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]{1,128}$/;

const KNOWN = ['windows', 'reserve', 'pauseStatuses', 'banStatuses', 'pauseDefault', 'banDefault', 'clock', 'meter', 'store', 'localShare'] as const;

export interface ResolvedGovernorOptions {
  windows: { weight: number; per: number; header: string | undefined }[];
  /** Each priority's cap in each window (same order as `windows`). */
  caps: Record<Priority, number[]>;
  pauseStatuses: ReadonlySet<number>;
  banStatuses: ReadonlySet<number>;
  pauseDefault: number;
  banDefault: number;
  clock: Clock;
  meter: MeterLike | undefined;
  store: SharedBudgetStore | undefined;
  /** `localShare`, 1 without a store. */
  localShare: number;
  /** Each priority's cap in each window while the shared store is unreachable: `localShare` of `caps`; `caps` itself without a store. */
  localCaps: Record<Priority, number[]>;
}

function checkWindow(field: string, value: unknown): { weight: number; per: number; header: string | undefined } {
  const window = checkObject(field, value);
  if (!window) throw invalid(field, 'an object { weight, per, header? }', value);
  checkKnownKeys(field, window, ['weight', 'per', 'header']);
  if (window.weight === undefined) throw invalid(`${field}.weight`, 'an integer from 1', undefined);
  if (window.per === undefined) throw invalid(`${field}.per`, 'a duration in ms', undefined);
  const weight = checkNumber(`${field}.weight`, window.weight, 1, { min: 1 });
  const per = checkNumber(`${field}.per`, window.per, 1, { min: 1, max: MAX_TIMEOUT });
  let header: string | undefined;
  if (window.header !== undefined) {
    if (typeof window.header !== 'string' || !HEADER_NAME.test(window.header.toLowerCase())) {
      throw invalid(`${field}.header`, 'a header name (an HTTP token)', window.header);
    }
    header = window.header.toLowerCase();
  }
  return { weight, per, header };
}

function checkStatuses(field: string, value: unknown, fallback: readonly number[]): Set<number> {
  if (value === undefined) return new Set(fallback);
  const items = checkArray(field, value, 'an array of HTTP statuses (400 to 599)');
  return new Set(items.map((item, i) => checkNumber(`${field}[${i}]`, item, 0, { min: 400, max: 599 })));
}

function checkShare(field: string, value: unknown): number {
  return checkNumber(field, value, 0, { min: 0, max: 0.99, integer: false });
}

export function resolveGovernorOptions(value: unknown): ResolvedGovernorOptions {
  const options = checkObject('governor', value);
  if (!options) throw invalid('governor', 'an object with `windows`', value);
  checkKnownKeys('governor', options, KNOWN);
  const listed = checkArray('governor.windows', options.windows, 'a non-empty array of { weight, per } windows');
  if (listed.length === 0 || listed.length > MAX_WINDOWS) {
    throw invalidSaying('governor.windows', `an array of 1 to ${MAX_WINDOWS} windows`, `${listed.length}`);
  }
  const windows = listed.map((each, i) => checkWindow(`governor.windows[${i}]`, each));
  const reserveGiven = checkObject('governor.reserve', options.reserve) ?? {};
  checkKnownKeys('governor.reserve', reserveGiven, ['order', 'normal']);
  const order = checkShare('governor.reserve.order', reserveGiven.order);
  const normal = checkShare('governor.reserve.normal', reserveGiven.normal);
  if (order + normal >= 1) throw invalidSaying('governor.reserve', 'shares adding up to less than 1', String(order + normal));
  // Kept from the lower priorities: what is reserved for every priority above them.
  const above: Record<Priority, number> = { order: 0, normal: order, background: order + normal };
  const caps = {} as Record<Priority, number[]>;
  for (const priority of ['order', 'normal', 'background'] as const) {
    caps[priority] = windows.map((window) => Math.floor(window.weight * (1 - above[priority])));
  }
  const store = checkInstance('governor.store', options.store, ['reserve', 'record', 'commit', 'cancel', 'add', 'used']) as SharedBudgetStore | undefined;
  if (options.localShare !== undefined && store === undefined) throw invalidSaying('governor.localShare', 'a `store` to share (localShare is its fallback)', 'no store');
  const share = store ? checkNumber('governor.localShare', options.localShare, DEFAULT_LOCAL_SHARE, { min: 0, max: 1, integer: false }) : 1;
  let localCaps = caps;
  if (store) {
    localCaps = {} as Record<Priority, number[]>;
    for (const priority of ['order', 'normal', 'background'] as const) {
      localCaps[priority] = caps[priority].map((cap) => Math.floor(cap * share));
    }
  }
  return {
    windows,
    caps,
    store,
    localShare: share,
    localCaps,
    pauseStatuses: checkStatuses('governor.pauseStatuses', options.pauseStatuses, DEFAULT_PAUSE_STATUSES),
    banStatuses: checkStatuses('governor.banStatuses', options.banStatuses, DEFAULT_BAN_STATUSES),
    pauseDefault: checkNumber('governor.pauseDefault', options.pauseDefault, DEFAULT_PAUSE, { min: 1, max: MAX_TIMEOUT }),
    banDefault: checkNumber('governor.banDefault', options.banDefault, DEFAULT_BAN, { min: 1, max: MAX_TIMEOUT }),
    clock: (checkInstance('governor.clock', options.clock, ['setTimeout', 'clearTimeout']) as Clock | undefined) ?? unrefClock,
    meter: checkInstance('governor.meter', options.meter, METER_METHODS) as MeterLike | undefined,
  };
}
