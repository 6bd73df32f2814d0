/**
 * What a pool reads of its supervisor, beyond acquiring and releasing: when an
 * eager pool is up (every slot connected once) or why it failed to start (a
 * first dial that failed), for `connect()`; the counts `stats()` sums over the slots.
 */
import type { Subscription } from 'xstate';
import { LifelineError } from '../errors.js';
import { slotStates, type SupervisorActor } from '../machines/supervisor.js';
import type { PoolStats } from '../telemetry/stats.js';

/** Resolves once the supervisor runs; rejects with CONNECT_FAILED, naming `where` and the first failure, if it closed instead. */
export function untilRunning(supervisor: SupervisorActor, connections: number, where: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let subscription: Subscription | undefined;
    const check = () => {
      const snapshot = supervisor.getSnapshot();
      if (snapshot.matches({ open: 'running' })) {
        subscription?.unsubscribe();
        resolve();
      } else if (snapshot.status !== 'active') {
        subscription?.unsubscribe();
        const cause = snapshot.context.failure;
        reject(new LifelineError('CONNECT_FAILED', `could not open ${connections} connections to ${where}: ${cause?.message ?? 'closed'}`, { cause }));
      }
    };
    subscription = supervisor.subscribe({ next: check, error: reject });
    check();
  });
}

/** Slots by state and what they have lived through, summed; the pool adds its own counters (`resends`, `replays`). */
export function slotStats(supervisor: SupervisorActor, connections: number): Omit<PoolStats, 'resends' | 'replays'> {
  const context = supervisor.getSnapshot().context;
  const ledger = context.ledger.getSnapshot().context;
  const stats = {
    connections,
    healthy: 0,
    busy: 0,
    draining: 0,
    connecting: 0,
    backoff: 0,
    poisoned: 0,
    // Slots never spawned (closed before start) count as closed.
    closed: connections - context.slots.length,
    waiting: ledger.waiters.length,
    streams: ledger.multi ? ledger.streams.reduce((sum, n) => sum + n, 0) : 0,
    dials: 0,
    cleanEnds: 0,
    failures: 0,
    backoffs: 0,
  };
  for (const state of slotStates(context)) stats[state]++;
  for (const slot of context.slots) {
    const counts = slot.getSnapshot().context.counts;
    stats.dials += counts.dials;
    stats.cleanEnds += counts.cleanEnds;
    stats.failures += counts.failures;
    stats.backoffs += counts.backoffs;
  }
  return stats;
}
