/**
 * Where a replay after a lost HTTP/2 connection may go. A server that dies takes all its
 * connections at once, and the client reads their ends one socket at a time, not always in one
 * poll phase: a replay granted at once went out on a connection whose end was read a moment
 * later, and died with it (1 to 16 of the GETs in flight, a node:http2 server killed under 16
 * callers on 4 connections; a wait for the next check phase left 1 run in 10 losing one). So the
 * replay's connection answers a PING first (`Http2Connection.answers`), and one that does not is
 * given back for another. One found gone has left the pool (its slot redials), so those are not
 * counted: there are only as many as there were connections (checking at most three leases lost
 * a GET in 3 of 20 runs on 4 connections under load, the fourth dying one going out unchecked).
 * One that stays silent for `http2.pingTimeout` is alive at TCP level and may be granted again:
 * after `SILENT_CHECKS` of those the replay goes out on the next lease, unchecked. HTTP/1.1
 * connections are not asked: the stale race there is one idle connection's, not a server's death.
 */
import type { Liveness } from '../transport/pool-connection.js';
import { Lease, leaseConnection } from './lease.js';

/** Silent connections a replay tries before it goes out on the next lease whatever it would answer. */
export const SILENT_CHECKS = 2;

/**
 * Leases a replay asks at the most, whatever they answer: a connection found gone is never granted
 * again, so this only bounds a pool of more connections than this that all died at once.
 */
export const ASKED_MOST = 64;

/** What the lease's connection answers; undefined when there is nothing to ask (HTTP/1.1). */
export function leaseAnswers(lease: Lease): Promise<Liveness> | undefined {
  return leaseConnection(lease).answers?.();
}

/** `lease`, or one taken with `again`, whose connection answered (see the module comment). */
export async function answering(lease: Lease, again: () => Lease | Promise<Lease>): Promise<Lease> {
  for (let silent = 0, asked = 0; silent < SILENT_CHECKS && asked < ASKED_MOST; asked++) {
    const answered = leaseAnswers(lease);
    const found = answered && (await answered);
    if (found === undefined || found === 'answered') return lease;
    if (found === 'silent') silent++;
    lease.release();
    const next = again();
    lease = next instanceof Lease ? next : await next;
  }
  return lease;
}
