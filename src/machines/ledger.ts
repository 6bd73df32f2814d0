/**
 * The lease ledger: the supervisor's hot half. It owns the LIFO free list of
 * healthy slots, the lease each busy slot is out under, and the FIFO queue of
 * waiting callers, and it answers every acquire and release.
 *
 * ```
 *  acquire(try)  --> free slot? grant : no answer ("none free")
 *  acquire(wait) --> free slot? grant : queue the waiter
 *                    (the newest free slot, LIFO; or the oldest, with strategy round-robin)
 *  release       --> first waiter? hand the slot over : back on the free list
 *  release(recycle) --> the slot is told to recycle; it heals in its own actor
 *  release(settlesAt) --> set aside until `settled`: a FIN right behind its last response is seen first
 *  slot.ready    --> first waiter? grant : free list
 *  slot.down     --> out of the free list, lease ends (its caller may still read the last response)
 *  slot.draining --> (HTTP/2 GOAWAY) out of the free list, nothing more leased on it; the streams out
 *                    finish and are released as usual, then slot.down
 *  close         --> refuse waiters and every later acquire; report drained once no lease is out
 *  recycle(slot) --> a free slot heals with a new connection (the pool moves it to another origin)
 *  capacity(slot) --> a multiplexed (HTTP/2) slot's stream limit changed: offered again if it has room
 *  sweep         --> recycle free connections about to pass idleTimeout, maxConnectionAge, the
 *                    server's own `Keep-Alive: timeout` or its learned idle timeout, so they heal
 *                    before a caller could meet a stale one
 * ```
 *
 * Why a transition function (`fromTransition`) and not a state machine: its
 * state is bookkeeping, not modes. A machine event costs 2-4 us (a microstep
 * resolves transitions, exit and entry sets, actions); a transition-function
 * actor answered an acquire+release pair in well under 1 us, and a trading hot
 * path pays that on every request. The modes (starting, running, closing,
 * closed) live in the supervisor machine, which spawns this actor; the life of
 * each connection lives in its slot machine.
 *
 * A slot is `busy` exactly while it is healthy and leased here: `leases[i] !== 0`.
 *
 * A multiplexed slot (an HTTP/2 connection) is leased up to its connection's `capacity` at once:
 * `streams[i]` leases are out under one lease number, and the slot stays in the free list while
 * it has room (on top, LIFO: one connection fills before the next is used; round-robin spreads
 * them). An HTTP/1.1 pool never sets `multi`, and its acquire and release pay one boolean test.
 *
 * Invariants, held after every event:
 * - a slot index is in `free` at most once, only while its connection is up and it is not leased
 *   (a multiplexed one: while it has fewer than `capacity` leases out, give or take a limit lowered since);
 * - a waiter is queued only while no slot is free, and is answered exactly once;
 * - after `close`, nothing is granted.
 *
 * The bookkeeping arrays are mutated in place: the actor owns them, nothing
 * outside writes them, and copying them on every event would cost more than
 * the rest of the event (readers use `getSnapshot().context`, which is current).
 * Replies are calls on the caller's reply object, made while the event is
 * processed, so a `try` acquire is answered before `actor.send()` returns.
 */
import { fromTransition, type ActorRefFrom, type AnyActorRef } from 'xstate';
import type { ErrorCode } from '../errors.js';
import { IdleLearner } from './idle-learner.js';
import type { SlotConnection, SlotReport } from './slot.js';

/** How the ledger answers a caller. Both are called at most once per acquire. */
export interface AcquireReply {
  /** The caller holds `slot` under `lease` (a number that makes a stale release harmless) until it releases. */
  granted(slot: number, lease: number, connection: SlotConnection): void;
  refused(code: ErrorCode): void;
}

export interface Waiter {
  id: number;
  reply: AcquireReply;
}

export type LedgerEvent =
  /**
   * `try`: answered at once, or not at all when no slot is free. `wait`: queued when none is free.
   * `avoid`: a slot not to grant while another has room (an HTTP/2 stream it refused goes again
   * elsewhere), or -1; read only once a slot is multiplexed.
   */
  | { type: 'acquire'; mode: 'try' | 'wait'; waiter: number; reply: AcquireReply; avoid?: number }
  /** The caller gave up: its AbortSignal fired or its deadline (a timer on the pool's clock) passed. */
  | { type: 'acquire.cancel'; waiter: number; code: ErrorCode }
  /**
   * `recycle`: the caller's request left the connection unfit for reuse. `keepAlive`: the
   * idle timeout the server announced on the last response (`Keep-Alive: timeout=N`, ms), or -1.
   */
  | {
      type: 'release';
      slot: number;
      lease: number;
      recycle: boolean;
      keepAlive: number;
      /**
       * The event-loop turn from which the slot may be handed out, or -1 for at once: its
       * connection served a response so lately that a FIN right behind it may not have been
       * read yet. The slot waits for a `settled` event of that turn or later.
       */
      settlesAt: number;
    }
  /** From the pool, at the check phase of each turn while slots settle: those settled by `turn` may be handed out. */
  | { type: 'settled'; turn: number }
  /** From the supervisor, every `SWEEP_INTERVAL`: recycle idle connections before the server drops them. */
  | { type: 'sweep' }
  /** From the pool: recycle this slot if it is free (to move it to another origin); a leased one is left alone. */
  | { type: 'recycle'; slot: number }
  /** From a multiplexed slot's connection: its stream limit changed (the server's SETTINGS). */
  | { type: 'capacity'; slot: number }
  | Extract<SlotReport, { type: 'slot.ready' | 'slot.down' | 'slot.draining' }>
  | { type: 'close' };

/** What the ledger tells the supervisor: the last lease ended after close; a slot connected for the first time. */
export type LedgerReport = { type: 'ledger.drained' } | { type: 'ledger.connected'; slot: number };

/** What the ledger tells a slot. */
export type LedgerCommand = { type: 'recycle'; reason: RecycleReason };

/**
 * Why the ledger retires a connection, as the slot records it: past the configured idle limit,
 * the server's announced `Keep-Alive` or the learned one, or `maxConnectionAge`; given back unfit
 * by its caller (`released`); moved to another origin (`homing`).
 */
export type RecycleReason = 'idle' | 'keep-alive' | 'learned-idle' | 'age' | 'released' | 'homing';

/** When a connection is too old or has been idle too long to hand out (0: no limit). */
export interface ConnectionLimits {
  /** Recycle a connection idle this long (ms). */
  idleTimeout: number;
  /** Recycle a connection this old (ms), each a little sooner, at random, so they do not all go at once. */
  maxConnectionAge: number;
}

export interface LedgerInput extends ConnectionLimits {
  /** `lifo`: the most recently released slot first. `round-robin`: the least recently released first. */
  strategy: 'lifo' | 'round-robin';
  /** The slot actors, by index: a recycled slot is told so. (The supervisor fills this array after spawning the ledger.) */
  slots: readonly AnyActorRef[];
  /** How many slots there will be; default `slots.length`. */
  size?: number;
  /** The supervisor, told when the last lease ends after `close`. */
  parent: AnyActorRef;
  /** Monotonic ms, read only where a limit is in force. */
  now: () => number;
  random: () => number;
}

/** How often the supervisor asks for a sweep (ms); a sweep recycles what would expire before the next one. */
export const SWEEP_INTERVAL = 100;
/** A server's `Keep-Alive: timeout=N` is trusted minus this much (or half of it, if less): its timer and ours do not start together. */
export const KEEP_ALIVE_MARGIN = 1_000;
/** How much sooner than `maxConnectionAge` a connection may be recycled, as a fraction of it. */
export const AGE_JITTER = 0.1;

export interface LedgerContext {
  readonly slots: readonly AnyActorRef[];
  readonly parent: AnyActorRef;
  readonly limits: ConnectionLimits;
  /** Take the free list's oldest entry (round-robin) instead of its newest (LIFO). */
  readonly fifo: boolean;
  readonly now: () => number;
  readonly random: () => number;
  /** Whether any limit is in force (configured, or announced by the server): only then is the clock read. */
  timed: boolean;
  /** When each slot's connection came up, went back on the free list, and the idle and age limits it is held to. */
  readonly bornAt: number[];
  readonly freedAt: number[];
  readonly idleLimit: number[];
  readonly ageLimit: number[];
  /** Healthy, unleased slot indexes; the last one is the most recently released (warmest). */
  readonly free: number[];
  /** The lease number a slot is out under; 0 when it is not leased. */
  readonly leases: number[];
  /** Whether any slot's connection is multiplexed: until then, nothing below is read. */
  multi: boolean;
  /** Whether each slot's current connection is multiplexed (HTTP/2). */
  readonly multiplexed: boolean[];
  /** Leases out on each multiplexed slot (streams in use); 0 for the others. */
  readonly streams: number[];
  /** Whether each slot's connection is draining (an HTTP/2 GOAWAY): its streams finish, none is leased on it. */
  readonly draining: boolean[];
  /** Each slot's live connection, from its `slot.ready` until its `slot.down`. */
  readonly connections: (SlotConnection | undefined)[];
  readonly waiters: Waiter[];
  /** Times each slot has been handed out. */
  readonly granted: number[];
  /** Whether each slot's connection has been leased and released: a server's idle timeout runs only after a request. */
  readonly served: boolean[];
  /** Whether each slot has ever connected: the supervisor is told of each first connect (an eager pool starts on all). */
  readonly connectedOnce: boolean[];
  /** The server's idle timeout, learned from the idle connections it closed. */
  readonly learner: IdleLearner;
  /** The slot held out of the free list past the learned limit, to see whether the server still closes it; -1 when none. */
  probe: number;
  /** Released slots whose connection served a response lately, offered at `settled` (see `release`). */
  readonly settling: number[];
  /** The turn each settling slot may be handed out from. */
  readonly settlesAt: number[];
  nextLease: number;
  closing: boolean;
  /** An event is being applied: one that arrives meanwhile (from a reply callback) waits in `queued`. */
  applying: boolean;
  readonly queued: LedgerEvent[];
}

type Defer = (fn: () => void) => void;

/** What the transition gets from its actor (or the desk): `defer`, and the actor itself when it runs there (a slot's report). */
interface LedgerScope {
  defer: Defer;
  self?: AnyActorRef;
}

/** The idle limit a slot is held to: its own (configured or announced), or the learned one once it has served. */
function idleLimitOf(context: LedgerContext, slot: number): number {
  const own = context.idleLimit[slot]!;
  const learned = context.learner.limit;
  return learned === Infinity || !context.served[slot] ? own : Math.min(own, announcedLimit(context, learned));
}

/** The limit the slot's connection is past, or will be within `early` ms; undefined while within them all. */
function expired(context: LedgerContext, slot: number, now: number, early: number): RecycleReason | undefined {
  if (now - context.bornAt[slot]! >= context.ageLimit[slot]! - early) return 'age';
  // A multiplexed slot in the free list may be carrying streams: not idle.
  if (context.multi && context.streams[slot]! > 0) return undefined;
  const limit = idleLimitOf(context, slot);
  if (now - context.freedAt[slot]! < limit - early) return undefined;
  const own = context.idleLimit[slot]!;
  if (limit < own) return 'learned-idle';
  return own < (context.limits.idleTimeout || Infinity) ? 'keep-alive' : 'idle';
}

/** Sends a healthy slot to heal with a fresh connection, saying why; it comes back with `slot.ready`. */
function recycleSlot(context: LedgerContext, slot: number, defer: Defer, reason: RecycleReason): void {
  const ref = context.slots[slot]!;
  defer(() => ref.send({ type: 'recycle', reason } satisfies LedgerCommand));
}

/** The warmest free slot that is fit to hand out; any expired one on the way is recycled. */
function takeFree(context: LedgerContext, defer: Defer): number | undefined {
  const free = context.free;
  let slot = context.fifo ? free.shift() : free.pop();
  if (!context.timed) return slot;
  const now = context.now();
  let reason: RecycleReason | undefined;
  while (slot !== undefined && (reason = expired(context, slot, now, 0)) !== undefined) {
    recycleSlot(context, slot, defer, reason);
    slot = context.fifo ? free.shift() : free.pop();
  }
  return slot;
}

/** The idle limit a server's `Keep-Alive: timeout` implies, never above the configured one. */
function announcedLimit(context: LedgerContext, keepAlive: number): number {
  const configured = context.limits.idleTimeout || Infinity;
  return Math.min(configured, keepAlive - Math.min(KEEP_ALIVE_MARGIN, keepAlive / 2));
}

function grant(context: LedgerContext, slot: number, reply: AcquireReply): void {
  const lease = context.nextLease++;
  context.leases[slot] = lease;
  context.granted[slot]!++;
  reply.granted(slot, lease, context.connections[slot]!);
}

/** A freed slot goes to the first waiter if there is one, else on top of the free list. */
function offer(context: LedgerContext, slot: number): void {
  const waiter = context.waiters.shift();
  if (waiter) grant(context, slot, waiter.reply);
  else context.free.push(slot);
}

/** How many leases a multiplexed slot may carry now: its connection's live `capacity`. */
function capacityOf(context: LedgerContext, slot: number): number {
  return context.connections[slot]?.capacity ?? 1;
}

/** One more lease on a multiplexed slot: all its leases share one lease number, renewed once none is out. */
function grantStream(context: LedgerContext, slot: number, reply: AcquireReply): void {
  if (context.streams[slot]!++ === 0) context.leases[slot] = context.nextLease++;
  context.granted[slot]!++;
  reply.granted(slot, context.leases[slot]!, context.connections[slot]!);
}

/** A multiplexed slot with room: waiters first, as many as it takes; then the free list, if room is left. */
function offerStreams(context: LedgerContext, slot: number): void {
  const capacity = capacityOf(context, slot);
  while (context.streams[slot]! < capacity && context.waiters.length > 0) grantStream(context, slot, context.waiters.shift()!.reply);
  if (context.streams[slot]! < capacity && !context.free.includes(slot)) context.free.push(slot);
}

/** The next free slot with room: a multiplexed slot whose limit was lowered under its leases leaves the list until one comes back. */
function takeRoomy(context: LedgerContext, defer: Defer): number | undefined {
  let slot = takeFree(context, defer);
  while (slot !== undefined && context.multiplexed[slot] && context.streams[slot]! >= capacityOf(context, slot)) slot = takeFree(context, defer);
  return slot;
}

/** An acquire once some slot is multiplexed: a stream on the warmest slot with room, another than `avoid` if there is one. */
function acquireStream(context: LedgerContext, event: Extract<LedgerEvent, { type: 'acquire' }>, defer: Defer): void {
  let slot = takeRoomy(context, defer);
  if (slot !== undefined && slot === event.avoid) {
    const other = takeRoomy(context, defer);
    if (other !== undefined) {
      context.free.push(slot);
      slot = other;
    }
  }
  if (slot === undefined) {
    if (event.mode === 'wait') context.waiters.push({ id: event.waiter, reply: event.reply });
    return;
  }
  if (!context.multiplexed[slot]) return grant(context, slot, event.reply);
  grantStream(context, slot, event.reply);
  // Room left: back where it was taken from (on top, LIFO, so it fills; at the end, round-robin).
  if (context.streams[slot]! < capacityOf(context, slot)) context.free.push(slot);
}

/** A lease of a multiplexed slot ends (see `release`). */
function releaseStream(context: LedgerContext, event: Extract<LedgerEvent, { type: 'release' }>, defer: Defer): void {
  const { slot } = event;
  const left = --context.streams[slot]!;
  if (left === 0) context.leases[slot] = 0;
  if (context.closing) {
    if (left === 0) reportIfDrained(context, defer);
    return;
  }
  // Draining: nothing more goes on it, and its end comes from the slot (slot.down) once the last stream is done.
  if (context.draining[slot]) return;
  context.served[slot] = true;
  if (context.timed && left === 0) context.freedAt[slot] = context.now();
  if (event.recycle) {
    // The connection is unfit (closing): no more leases on it; it heals once the last is back.
    forget(context.free, slot);
    if (left === 0) recycleSlot(context, slot, defer, 'released');
    return;
  }
  offerStreams(context, slot);
}

/** After `close`, the supervisor waits for the last lease to end; it is told once, when none is out. */
function reportIfDrained(context: LedgerContext, defer: Defer): void {
  if (!context.closing || context.leases.some((lease) => lease !== 0)) return;
  const parent = context.parent;
  defer(() => parent.send({ type: 'ledger.drained' } satisfies LedgerReport));
}

function endLease(context: LedgerContext, slot: number, defer: Defer): void {
  context.leases[slot] = 0;
  reportIfDrained(context, defer);
}

function release(context: LedgerContext, event: Extract<LedgerEvent, { type: 'release' }>, defer: Defer): void {
  const { slot, lease } = event;
  // A stale lease: the slot died (and may have been reissued) since this lease was granted.
  if (context.leases[slot] !== lease) return;
  if (context.multi && context.multiplexed[slot]) return releaseStream(context, event, defer);
  if (context.closing) return endLease(context, slot, defer);
  context.served[slot] = true;
  if (event.keepAlive >= 0) {
    context.idleLimit[slot] = announcedLimit(context, event.keepAlive);
    context.timed = true;
  }
  let recycle: RecycleReason | undefined = event.recycle ? 'released' : undefined;
  if (context.timed) {
    const now = context.now();
    context.freedAt[slot] = now;
    recycle ??= expired(context, slot, now, 0);
  }
  if (recycle !== undefined) {
    context.leases[slot] = 0;
    return recycleSlot(context, slot, defer, recycle);
  }
  if (event.settlesAt >= 0) {
    context.leases[slot] = 0;
    context.settlesAt[slot] = event.settlesAt;
    context.settling.push(slot);
    return;
  }
  const waiter = context.waiters.shift();
  // Hand-off: the slot stays leased and goes straight to the first waiter.
  if (waiter) return grant(context, slot, waiter.reply);
  context.leases[slot] = 0;
  context.free.push(slot);
}

/** A check phase: slots settled by `turn` are offered; a FIN that followed their last response was read (and the slot reported down). */
function settled(context: LedgerContext, turn: number): void {
  const settling = context.settling;
  let kept = 0;
  for (let i = 0; i < settling.length; i++) {
    const slot = settling[i]!;
    if (context.settlesAt[slot]! > turn) settling[kept++] = slot;
    else if (!context.closing && context.connections[slot] !== undefined && context.leases[slot] === 0) offer(context, slot);
  }
  settling.length = kept;
}

function forget(list: number[], slot: number): void {
  const index = list.indexOf(slot);
  if (index >= 0) list.splice(index, 1);
}

/**
 * Recycles every free connection that would pass a limit before the next sweep.
 *
 * With a learned idle limit, one of them may instead be kept, out of the free list
 * and unused, as a probe: if the server still closes it, the limit stands; if it
 * outlives the limit the learned timeout was wrong (or the server changed), and
 * it is forgotten. Only while two other slots are free, so no caller waits for it.
 */
function sweep(context: LedgerContext, defer: Defer): void {
  const learner = context.learner;
  if (context.closing || (!context.timed && !learner.pending)) return;
  const now = context.now();
  learner.confirm(now);
  if (learner.limit !== Infinity) context.timed = true;
  if (!context.timed) return;
  if (context.probe >= 0) checkProbe(context, now);
  const free = context.free;
  for (let i = free.length - 1; i >= 0; i--) {
    const slot = free[i]!;
    const reason = expired(context, slot, now, SWEEP_INTERVAL);
    if (reason === undefined) continue;
    free.splice(i, 1);
    if (context.probe < 0 && free.length >= 2 && probing(context, slot, now)) context.probe = slot;
    else recycleSlot(context, slot, defer, reason);
  }
}

/** Whether the learned limit is all that expires this slot: only then does keeping it say anything of the server. */
function probing(context: LedgerContext, slot: number, now: number): boolean {
  const learned = context.learner.limit;
  if (learned === Infinity || !context.served[slot]) return false;
  const own = context.idleLimit[slot]!;
  return now - context.freedAt[slot]! < own - SWEEP_INTERVAL && now - context.bornAt[slot]! < context.ageLimit[slot]! - SWEEP_INTERVAL;
}

/** The probe outlived the learned limit by a margin: forget it, and the probe is an ordinary free connection again. */
function checkProbe(context: LedgerContext, now: number): void {
  const slot = context.probe;
  if (now - context.freedAt[slot]! < context.learner.limit + Math.min(KEEP_ALIVE_MARGIN, context.learner.limit / 2)) return;
  context.learner.forget();
  context.probe = -1;
  context.free.unshift(slot);
}

function applyEvent(context: LedgerContext, event: LedgerEvent, scope: LedgerScope): void {
  const defer = scope.defer;
  switch (event.type) {
    case 'acquire': {
      if (context.closing) {
        event.reply.refused('POOL_CLOSED');
        break;
      }
      if (context.multi) {
        acquireStream(context, event, defer);
        break;
      }
      // The warmest free slot (LIFO), or the least recently released (round-robin).
      const slot = takeFree(context, defer);
      if (slot !== undefined) grant(context, slot, event.reply);
      else if (event.mode === 'wait') context.waiters.push({ id: event.waiter, reply: event.reply });
      // A `try` with nothing free gets no answer: the caller reads that as "none".
      break;
    }
    case 'release':
      release(context, event, defer);
      break;
    case 'sweep':
      sweep(context, defer);
      break;
    case 'settled':
      settled(context, event.turn);
      break;
    case 'recycle': {
      const index = context.free.indexOf(event.slot);
      if (index < 0 || context.closing) break;
      context.free.splice(index, 1);
      // Only the pool's origin list asks: homing, or an origin `setOrigins` dropped.
      recycleSlot(context, event.slot, defer, 'homing');
      break;
    }
    case 'capacity': {
      const { slot } = event;
      if (!context.closing && context.connections[slot] !== undefined && context.multiplexed[slot] && !context.draining[slot]) offerStreams(context, slot);
      break;
    }
    case 'acquire.cancel': {
      const index = context.waiters.findIndex((w) => w.id === event.waiter);
      if (index < 0) break; // already served: the grant won the race
      const [waiter] = context.waiters.splice(index, 1);
      waiter!.reply.refused(event.code);
      break;
    }
    case 'slot.ready': {
      const { slot, connection } = event;
      context.connections[slot] = connection;
      const multiplexed = connection.multiplexed === true;
      context.multiplexed[slot] = multiplexed;
      context.streams[slot] = 0;
      context.draining[slot] = false;
      if (multiplexed) {
        context.multi = true;
        // Its stream limit changes with the server's SETTINGS: the slot is offered again when it has room.
        const self = scope.self;
        connection.onCapacity?.(() => self?.send({ type: 'capacity', slot } satisfies LedgerEvent));
      }
      if (!context.connectedOnce[slot]) {
        context.connectedOnce[slot] = true;
        const parent = context.parent;
        defer(() => parent.send({ type: 'ledger.connected', slot } satisfies LedgerReport));
      }
      // A new connection: the server has announced nothing on it yet, nor served anything.
      context.idleLimit[slot] = context.limits.idleTimeout || Infinity;
      context.served[slot] = false;
      const { maxConnectionAge } = context.limits;
      context.ageLimit[slot] = maxConnectionAge ? maxConnectionAge * (1 - AGE_JITTER * context.random()) : Infinity;
      context.bornAt[slot] = context.freedAt[slot] = context.timed ? context.now() : 0;
      if (!context.closing) {
        if (multiplexed) offerStreams(context, slot);
        else offer(context, slot);
      }
      break;
    }
    case 'slot.down': {
      const { slot } = event;
      context.connections[slot] = undefined;
      context.streams[slot] = 0;
      context.draining[slot] = false;
      forget(context.free, slot);
      forget(context.settling, slot);
      if (context.probe === slot) context.probe = -1;
      context.learner.observe(context.now(), event.idleFor);
      // A limit learned here (or at a sweep) puts the clock to work: releases start recording idle times.
      if (context.learner.limit !== Infinity) context.timed = true;
      // The lease ends with its connection: the slot's next connection goes to the first waiter,
      // and the caller's release, when it comes, is stale. A caller still reading the last
      // response of a connection that said `Connection: close` reads on: its lease holds that
      // connection itself, which closes once the response is in.
      if (context.leases[slot] !== 0) endLease(context, slot, defer);
      break;
    }
    case 'slot.draining': {
      // The leases out stay out (their streams finish); none is granted on it from now on.
      const { slot } = event;
      context.draining[slot] = true;
      forget(context.free, slot);
      forget(context.settling, slot);
      if (context.probe === slot) context.probe = -1;
      break;
    }
    case 'close': {
      context.closing = true;
      context.free.length = 0;
      context.settling.length = 0;
      for (const waiter of context.waiters.splice(0)) waiter.reply.refused('POOL_CLOSED');
      reportIfDrained(context, defer);
      break;
    }
  }
}

/**
 * The ledger's transition, for its actor and its desk alike. Events are applied one at a
 * time: one that arrives while another is applied (a caller's reply callback acquiring or
 * releasing, or closing the pool) waits and is applied right after it, as the actor's
 * mailbox would have it.
 */
function ledgerTransition(context: LedgerContext, event: LedgerEvent, scope: LedgerScope): LedgerContext {
  if (context.applying) {
    context.queued.push(event);
    return context;
  }
  context.applying = true;
  try {
    applyEvent(context, event, scope);
    for (let next = context.queued.shift(); next !== undefined; next = context.queued.shift()) applyEvent(context, next, scope);
  } finally {
    context.applying = false;
  }
  return context;
}

/**
 * The callers' way in (acquire, wait, cancel, release, settled): their events applied to the
 * ledger's state at once by the ledger's own transition, not sent through its actor. An event
 * through the actor costs its mailbox, an inspection record and a snapshot copy, about 2 us
 * in a pool under load, and a request makes three or four (try, wait, release, settled): a
 * fifth of what lifeline adds to a request. What the transition defers (telling a slot to
 * recycle, the supervisor that the ledger drained) runs after it, as the actor runs it. The
 * slots' reports, the sweep and close still go through the actor. What the desk applies an
 * XState inspector does not see: a lease is not a slot transition, and inspection shows the
 * slots' life, as the flight recorder does.
 */
export class LedgerDesk {
  readonly #context: LedgerContext;
  #deferred: (() => void)[] = [];
  readonly #scope = { defer: (effect: () => void) => void this.#deferred.push(effect) };

  constructor(ledger: LedgerActor) {
    this.#context = ledger.getSnapshot().context;
  }

  /** The ledger's state, as its actor's snapshot holds it (the same object: it is mutated in place). */
  get context(): LedgerContext {
    return this.#context;
  }

  send(event: Extract<LedgerEvent, { type: 'acquire' | 'acquire.cancel' | 'release' | 'settled' }>): void {
    ledgerTransition(this.#context, event, this.#scope);
    if (this.#deferred.length === 0) return;
    const effects = this.#deferred;
    this.#deferred = [];
    for (const effect of effects) effect();
  }
}

export const ledgerLogic = fromTransition(ledgerTransition, ({ input }: { input: LedgerInput }): LedgerContext => {
  const size = input.size ?? input.slots.length;
  const limits = { idleTimeout: input.idleTimeout, maxConnectionAge: input.maxConnectionAge };
  return {
    slots: input.slots,
    parent: input.parent,
    limits,
    fifo: input.strategy === 'round-robin',
    now: input.now,
    random: input.random,
    timed: limits.idleTimeout > 0 || limits.maxConnectionAge > 0,
    bornAt: new Array<number>(size).fill(0),
    freedAt: new Array<number>(size).fill(0),
    idleLimit: new Array<number>(size).fill(Infinity),
    ageLimit: new Array<number>(size).fill(Infinity),
    free: [],
    leases: new Array<number>(size).fill(0),
    multi: false,
    multiplexed: new Array<boolean>(size).fill(false),
    streams: new Array<number>(size).fill(0),
    draining: new Array<boolean>(size).fill(false),
    connections: new Array<SlotConnection | undefined>(size).fill(undefined),
    waiters: [],
    granted: new Array<number>(size).fill(0),
    served: new Array<boolean>(size).fill(false),
    connectedOnce: new Array<boolean>(size).fill(false),
    learner: new IdleLearner(size),
    probe: -1,
    settling: [],
    settlesAt: new Array<number>(size).fill(-1),
    nextLease: 1,
    closing: false,
    applying: false,
    queued: [],
  };
});

export type LedgerActor = ActorRefFrom<typeof ledgerLogic>;
