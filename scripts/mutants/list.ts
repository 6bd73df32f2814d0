/**
 * The mutants `npm run mutants` applies to src/machines, one at a time: each a one-line
 * change a plausible slip would make, and each must make a model test fail. The first
 * three are those issue 17 named (they survived the model tests once; the first survived
 * the whole suite).
 *
 * `find` must occur exactly once in `file`: a mutant whose line has changed is reported
 * stale, and the list is updated with the code.
 */

/** The model tests that watch each machine file. */
export const MODEL_TESTS = {
  slot: 'test/machines/slot-model.test.ts',
  feed: 'test/machines/feed-model.test.ts',
  supervisor: 'test/machines/supervisor-model.test.ts',
} as const;

export interface Mutant {
  id: string;
  /** What the slip does, in a few words. */
  what: string;
  /** Under src/machines. */
  file: string;
  find: string;
  replace: string;
  /** The test files to run against it. */
  tests: string[];
}

const { slot, feed, supervisor } = MODEL_TESTS;

export const MUTANTS: Mutant[] = [
  {
    id: 'feed-lost-uncounted',
    what: 'feed: a lost connection counts no failure',
    file: 'feed.ts',
    find: "lost: { target: 'poisoned', actions: ['countFailure', 'recordLost'] },",
    replace: "lost: { target: 'poisoned', actions: ['recordLost'] },",
    tests: [feed],
  },
  {
    id: 'backoff-attempt-1',
    what: 'backoff: every delay is the first one',
    file: 'backoff.ts',
    find: 'const ceiling = ceilingDelay(attempt, policy);',
    replace: 'const ceiling = ceilingDelay(1, policy);',
    tests: [slot, feed],
  },
  {
    id: 'slot-redial-immediate',
    what: 'slot: every retry is immediate',
    file: 'slot.ts',
    find: 'return attempts <= 1 ? 0 : context.shared.backoff(attempts - 1, context.shared.random);',
    replace: 'return 0;',
    tests: [slot],
  },
  {
    id: 'slot-attempt-off-by-one',
    what: 'slot: the delay of one failure more',
    file: 'slot.ts',
    find: 'return attempts <= 1 ? 0 : context.shared.backoff(attempts - 1, context.shared.random);',
    replace: 'return attempts <= 1 ? 0 : context.shared.backoff(attempts, context.shared.random);',
    tests: [slot],
  },
  {
    id: 'slot-first-retry-delayed',
    what: 'slot: the first retry waits too',
    file: 'slot.ts',
    find: 'return attempts <= 1 ? 0 : context.shared.backoff(attempts - 1, context.shared.random);',
    replace: 'return attempts < 1 ? 0 : context.shared.backoff(Math.max(1, attempts - 1), context.shared.random);',
    tests: [slot],
  },
  {
    id: 'slot-clean-end-is-failure',
    what: 'slot: a clean end counted as a failure',
    file: 'slot.ts',
    find: "ended: { target: 'connecting', actions: ['countCleanEnd', 'noteCleanEnd'] },",
    replace: "ended: { target: 'connecting', actions: ['countFailure', 'noteLost'] },",
    tests: [slot],
  },
  {
    id: 'slot-recycle-is-failure',
    what: 'slot: a recycle adds to the failure count',
    file: 'slot.ts',
    find: "recycle: { target: 'connecting', actions: ['countCleanEnd', 'noteCleanEnd'] },",
    replace: "recycle: { target: 'connecting', actions: ['countCleanEnd', 'noteLost'] },",
    tests: [slot],
  },
  {
    id: 'slot-torn-down-keeps-delay',
    what: 'slot: a dropped assign: the delay after a lost connection is the last dial failure\'s',
    file: 'slot.ts',
    find: "noteTornDown: assign(({ context, event }) => ({ cause: event.type, connection: undefined, retryDelay: retryDelayAfter(context, context.attempts) })),",
    replace: "noteTornDown: assign(({ event }) => ({ cause: event.type, connection: undefined })),",
    tests: [slot],
  },
  {
    id: 'slot-stable-inverted',
    what: 'slot: a guard inverted: a short-lived connection forgives the failures before it',
    file: 'slot.ts',
    find: 'return context.attempts > 0 && context.shared.now() - context.upSince >= context.shared.stableAfter;',
    replace: 'return context.attempts > 0 && context.shared.now() - context.upSince < context.shared.stableAfter;',
    tests: [slot],
  },
  {
    id: 'feed-attempt-off-by-one',
    what: 'feed: the delay of one failure more',
    file: 'feed.ts',
    find: 'retryDelay: ({ context }) => context.backoff(Math.max(1, context.attempts), context.random),',
    replace: 'retryDelay: ({ context }) => context.backoff(context.attempts + 1, context.random),',
    tests: [feed],
  },
  {
    id: 'feed-open-error-uncounted',
    what: 'feed: a failed connect counts no failure',
    file: 'feed.ts',
    find: "actions: ['countFailure', assign({ lastError: ({ event }) => asLifelineError(event.error) })],",
    replace: 'actions: [assign({ lastError: ({ event }) => asLifelineError(event.error) })],',
    tests: [feed],
  },
  {
    id: 'feed-acked-inverted',
    what: 'feed: a guard inverted: live before every subscription is acknowledged',
    file: 'feed.ts',
    find: 'allAcked: ({ context }) => context.isAck === undefined || context.pendingAcks <= 0,',
    replace: 'allAcked: ({ context }) => context.isAck === undefined || context.pendingAcks < context.subscriptions.length,',
    tests: [feed],
  },
  {
    id: 'feed-stable-forgets-nothing',
    what: 'feed: a dropped assign: a stable spell forgives no failure',
    file: 'feed.ts',
    find: 'forgetFailures: assign({\n      attempts: 0,',
    replace: 'forgetFailures: assign({\n      attempts: ({ context }) => context.attempts,',
    tests: [feed],
  },
  {
    id: 'supervisor-started-off-by-one',
    what: 'supervisor: an eager pool waits for one slot more than it has',
    file: 'supervisor.ts',
    find: 'startedUp: ({ context }) => context.options.lazy || context.ready >= context.options.connections,',
    replace: 'startedUp: ({ context }) => context.options.lazy || context.ready > context.options.connections,',
    tests: [supervisor],
  },
  {
    id: 'supervisor-eager-inverted',
    what: 'supervisor: a guard inverted: a lazy pool closes on a failed first dial',
    file: 'supervisor.ts',
    find: 'eager: ({ context }) => !context.options.lazy,',
    replace: 'eager: ({ context }) => context.options.lazy,',
    tests: [supervisor],
  },
  {
    id: 'supervisor-ready-uncounted',
    what: 'supervisor: a dropped assign: first connects are not counted',
    file: 'supervisor.ts',
    find: 'countReady: assign({ ready: ({ context }) => context.ready + 1 }),',
    replace: 'countReady: assign({ ready: ({ context }) => context.ready }),',
    tests: [supervisor],
  },
  {
    id: 'supervisor-drain-late',
    what: 'supervisor: close waits a millisecond past drainTimeout',
    file: 'supervisor.ts',
    find: 'drainTimeout: ({ context }) => context.options.drainTimeout,',
    replace: 'drainTimeout: ({ context }) => context.options.drainTimeout + 1,',
    tests: [supervisor],
  },
  {
    id: 'ledger-fifo',
    what: 'ledger: the oldest free slot first, not the warmest',
    file: 'ledger.ts',
    find: 'let slot = context.fifo ? free.shift() : free.pop();',
    replace: 'let slot = context.fifo ? free.pop() : free.shift();',
    tests: [supervisor],
  },
  {
    id: 'ledger-drained-inverted',
    what: 'ledger: a guard inverted: drained while a lease is out',
    file: 'ledger.ts',
    find: 'if (!context.closing || context.leases.some((lease) => lease !== 0)) return;',
    replace: 'if (!context.closing || !context.leases.some((lease) => lease !== 0)) return;',
    tests: [supervisor],
  },
  {
    id: 'ledger-close-keeps-waiters',
    what: 'ledger: close leaves the waiters unanswered',
    file: 'ledger.ts',
    find: "for (const waiter of context.waiters.splice(0)) waiter.reply.refused('POOL_CLOSED');",
    replace: 'context.waiters.splice(0);',
    tests: [supervisor],
  },
];
