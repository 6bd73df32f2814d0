/**
 * The `inspect` option of pools and feeds: an XState inspector attached to the
 * root actor when it is created, so it sees the supervisor, the ledger and every
 * slot (or the feed) from their birth. `actor.system.inspect(...)` after connect
 * comes too late for that: the actors were already created and started.
 *
 * What it sees holds no secret: machine input, context and events carry
 * redacted handles, never a URL's credentials or token, a header value or a
 * subscription's text (README, "What inspection never sees").
 */
import type { InspectionEvent, Observer } from 'xstate';
import { invalid } from '../validate.js';

/**
 * What `createActor(logic, { inspect })` takes: a function called with each inspection
 * event, or an observer whose `next` is (`@statelyai/inspect`'s `inspector.inspect`).
 */
export type Inspector = ((event: InspectionEvent) => void) | Partial<Observer<InspectionEvent>>;

/** What an inspector is resolved to: one function, which never throws into the actor that reports. */
export type InspectFn = (event: InspectionEvent) => void;

const EXPECTED = 'a function or an observer with a `next` function (an XState inspector)';

/**
 * Checks an `inspect` option, reading an observer's `next` once, here. An inspector that
 * throws must not fail the actor it inspects (xstate calls it inside the transition, so a
 * throw would stop the supervisor or the feed): its error is rethrown on a turn of its own,
 * as xstate does with a subscriber's.
 */
export function checkInspector(field: string, value: unknown): InspectFn | undefined {
  if (value === undefined) return undefined;
  let next: unknown = value;
  if (typeof value !== 'function') {
    if (typeof value !== 'object' || value === null) throw invalid(field, EXPECTED, value);
    try {
      next = (value as { next?: unknown }).next;
    } catch {
      throw invalid(field, EXPECTED, value);
    }
    if (typeof next !== 'function') throw invalid(field, EXPECTED, value);
  }
  const inspect = next as (this: unknown, event: InspectionEvent) => void;
  const self = typeof value === 'function' ? undefined : value;
  return (event) => {
    try {
      inspect.call(self, event);
    } catch (error) {
      setTimeout(() => {
        throw error;
      });
    }
  };
}
