/**
 * The supervisor's invariants, read from its snapshot through `pool.actor` (the
 * inspection handle): what must hold between any two events while the pool is open.
 */
import { expect } from 'vitest';
import type { ClientPool, SlotState } from '../../src/index.js';

/** Each slot's plain-string state, by slot index. */
export function slotStates(pool: ClientPool): SlotState[] {
  return pool.slotStates();
}

/** The supervisor's ledger: free list, leases and waiters. */
export function ledgerOf(pool: ClientPool) {
  return pool.actor.getSnapshot().context.ledger.getSnapshot().context;
}

/**
 * The broken invariants, as sentences (empty when all hold). Usable where a
 * throw would be lost (a promise callback): collect, then assert at the end.
 */
export function supervisorViolations(pool: ClientPool): string[] {
  const snapshot = pool.actor.getSnapshot();
  if (snapshot.status !== 'active' || !snapshot.matches('open')) return [];
  const { free, leases, waiters, settling, probe, multiplexed, streams } = ledgerOf(pool);
  const states = slotStates(pool);
  const stats = pool.stats();
  const violations: string[] = [];
  const sum = stats.healthy + stats.busy + stats.draining + stats.connecting + stats.backoff + stats.poisoned + stats.closed;
  if (sum !== stats.connections) violations.push(`slots not conserved: ${JSON.stringify(stats)}`);
  if (new Set(free).size !== free.length) violations.push(`a slot is in the free list twice: ${JSON.stringify(free)}`);
  states.forEach((state, slot) => {
    const inFree = free.includes(slot);
    // An HTTP/2 slot stays in the free list while it carries streams and has room for more.
    const multi = multiplexed[slot] === true;
    if (inFree && state !== 'healthy' && !(multi && state === 'busy')) violations.push(`slot ${slot} is in the free list but ${state}`);
    if (multi && (leases[slot] !== 0) !== streams[slot]! > 0) violations.push(`HTTP/2 slot ${slot} has lease ${leases[slot]} and ${streams[slot]} streams`);
    // Set aside, not leaked: released this turn after serving a response (offered at the check
    // phase), or kept idle as the learned idle timeout's probe.
    const aside = settling.includes(slot) || probe === slot;
    if (inFree && aside) violations.push(`slot ${slot} is both free and set aside`);
    if (!inFree && !aside && state === 'healthy') violations.push(`slot ${slot} is healthy but not in the free list (leaked)`);
    const leased = leases[slot] !== 0;
    // A draining (HTTP/2) slot may have leases out, or none left.
    if (state !== 'draining' && leased !== (state === 'busy')) violations.push(`slot ${slot} is ${state} with lease ${leases[slot]}`);
  });
  if (waiters.length > 0 && free.length > 0) {
    violations.push(`${waiters.length} waiter(s) queued while slots ${JSON.stringify(free)} are free`);
  }
  if (stats.waiting !== waiters.length) violations.push(`stats().waiting ${stats.waiting} != ${waiters.length} waiters`);
  return violations;
}

export function expectSupervisorInvariants(pool: ClientPool, label?: string): void {
  expect(supervisorViolations(pool), label).toEqual([]);
}
