/**
 * The requests panel's data: a pool's recent requests, from its opt-in request
 * log (issue 17, item 2), for the page's `PageRequest` rows. The one place the
 * dashboard's server reads request records.
 */
import type { ClientPool } from '../pool/client-pool.js';
import type { PageRequest } from './protocol.js';

/** Requests each pool sends the page, newest last: the panel shows at most this many. */
export const REQUEST_ROWS = 50;

/**
 * `pool`'s last {@link REQUEST_ROWS} requests, or undefined when its request log is
 * off (the page then says how to turn it on).
 *
 * MERGE (issue 17, item 2): the request log is being added on another branch
 * (`requestLog: { size }`, read with `pool.history({ requests: true })`, records
 * of `kind: 'request'`). Until it is merged no pool has one, so this returns
 * undefined. When it is: return undefined if the pool's log is off, else
 *   pool.history({ requests: true }).filter((r) => 'kind' in r && r.kind === 'request').slice(-REQUEST_ROWS)
 * (a RequestRecord is a PageRequest with more fields; times are already wall-clock ms).
 */
export function poolRequests(pool: ClientPool): PageRequest[] | undefined {
  void pool;
  return undefined;
}
