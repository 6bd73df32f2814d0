/**
 * The requests panel's data: a pool's recent requests, from its opt-in request
 * log (issue 17, item 2), for the page's `PageRequest` rows. The one place the
 * dashboard's server reads request records.
 */
import type { ClientPool } from '../pool/client-pool.js';
import type { PageRequest } from './protocol.js';

/** Requests each pool sends the page, newest last: the panel shows at most this many. */
export const REQUEST_ROWS = 50;

/** `pool`'s last {@link REQUEST_ROWS} requests, or undefined when its request log is off (the page then says how to turn it on). */
export function poolRequests(pool: ClientPool): PageRequest[] | undefined {
  // A RequestRecord is a PageRequest with more fields; its times are already wall-clock ms.
  return pool.requests()?.slice(-REQUEST_ROWS);
}
