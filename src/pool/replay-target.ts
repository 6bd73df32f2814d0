/**
 * Where a replay after a lost HTTP/2 connection may go. A server that dies takes all its
 * connections at once, and the client reads their ends one socket at a time, not always in one
 * poll phase: a replay granted at once went out on a connection whose end was read a moment
 * later, and died with it (1 to 16 of the GETs in flight, a node:http2 server killed under 16
 * callers on 4 connections; a wait for the next check phase left 1 run in 10 losing one). So the
 * replay's connection answers a PING first (`Http2Connection.answers`); one that does not is given
 * back, dead or dying, and another is taken, up to `LIVENESS_CHECKS` leases. HTTP/1.1 connections
 * are not asked: the stale race there is one idle connection's, not a server's death.
 */
import { Lease, leaseConnection } from './lease.js';

/** Leases a replay tries before it goes out on the last one whatever it answered. */
export const LIVENESS_CHECKS = 3;

/** Whether the lease's connection answers; undefined when there is nothing to ask (HTTP/1.1). */
export function leaseAnswers(lease: Lease): Promise<boolean> | undefined {
  return leaseConnection(lease).answers?.();
}

/** `lease`, or one taken with `again`, whose connection answered (see the module comment). */
export async function answering(lease: Lease, again: () => Lease | Promise<Lease>): Promise<Lease> {
  for (let tries = 1; tries < LIVENESS_CHECKS; tries++) {
    const answered = leaseAnswers(lease);
    if (answered === undefined || (await answered)) return lease;
    lease.release();
    const next = again();
    lease = next instanceof Lease ? next : await next;
  }
  return lease;
}
