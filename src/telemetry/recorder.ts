/**
 * The flight recorder: for every slot of a pool and for a feed, the last N
 * state changes (when, from, to, the event, a short reason such as an error
 * code), kept in a ring per actor for a post-mortem, and streamed live to
 * whoever listens (the dashboard).
 *
 * It subscribes to each actor it records (`watch`: every slot of a pool, a
 * feed), through the same watcher as the metrics and the testing kit's state
 * logs; the event behind a change is the `cause` the machine keeps in its
 * context. No XState inspector: one would see, and cost, every event of the
 * system, every lease of a pool's ledger included. Leases are not state
 * changes of a slot (the supervisor's ledger holds them, and counts them), so
 * a busy pool does not push the failures a post-mortem needs out of the ring.
 *
 * Every string is scrubbed by the pool's or feed's `Redactor` before it is
 * stored: nothing the recorder holds can leak a secret.
 */
import type { Redactor } from '../redact.js';
import { watchStates, type Watched, type WatchedSnapshot } from './state-watch.js';
import { eventLabel } from './transitions.js';
import type { TransitionRecord } from './record.js';
import { Ring } from './ring.js';
import { changeReason } from './change-reason.js';

export type { TransitionRecord } from './record.js';

/** What the recorder knows about one actor now. */
export interface ActorSummary {
  actor: string;
  state: string;
  /** Wall-clock time the current state was entered. */
  since: number;
  /** Failures since the last stable spell. */
  attempts: number;
  lastError: string | undefined;
}

export interface RecorderOptions {
  /** Transitions kept per actor. */
  capacity: number;
  redactor: Redactor;
}

/** The parts of a machine snapshot the recorder reads: a slot's and a feed's both have them. */
export interface RecordedSnapshot extends WatchedSnapshot {
  readonly context: {
    /** Failures since the last stable spell. */
    readonly attempts: number;
    readonly lastError?: unknown;
    /** The type of the event that entered the current state. */
    readonly cause: string;
    /** A slot's: why its connection last left healthy cleanly (see change-reason.ts). */
    readonly endReason?: string;
  };
}

export const DEFAULT_HISTORY = 100;

/** What `watch` needs of an actor: its snapshot now and each one after. */
export interface WatchedActor {
  getSnapshot(): unknown;
  subscribe(observer: { next: (snapshot: unknown) => void; complete: () => void; error: (error: unknown) => void }): { unsubscribe(): void };
}

interface Track {
  summary: ActorSummary;
  ring: Ring<TransitionRecord>;
}

function reasonOf(error: unknown): string | undefined {
  if (error === undefined || error === null) return undefined;
  if (typeof error === 'object' && 'code' in error && typeof error.code === 'string') return error.code;
  if (error instanceof Error) return error.message;
  return String(error);
}

export class FlightRecorder {
  readonly #options: RecorderOptions;
  readonly #tracks = new Map<string, Track>();
  readonly #listeners = new Set<(record: TransitionRecord) => void>();
  #seq = 0;

  constructor(options: RecorderOptions) {
    this.#options = options;
  }

  /**
   * Records the actor `ref` under the name `actor` (`slot 0`, `feed`) by subscribing
   * to it; `stateOf` reads its plain-string state. Returns an unsubscribe.
   */
  watch<S extends RecordedSnapshot>(actor: string, ref: Watched<S>, stateOf: (snapshot: S) => string): () => void {
    const track = this.#track(actor, stateOf(ref.getSnapshot()));
    const subscription = watchStates(ref, {
      state: stateOf,
      seen: (snapshot) => this.#update(track, snapshot),
      changed: ({ from, to, error, snapshot }) => this.#record(track, from, to, snapshot.context, error),
    });
    return () => subscription.unsubscribe();
  }

  /** Every record kept, oldest first, as plain JSON-ready objects. */
  history(): TransitionRecord[] {
    const all: TransitionRecord[] = [];
    for (const track of this.#tracks.values()) all.push(...track.ring.toArray());
    return all.sort((a, b) => a.seq - b.seq);
  }

  /** What each recorded actor is doing now. */
  summaries(): ActorSummary[] {
    return [...this.#tracks.values()].map((track) => ({ ...track.summary }));
  }

  /** Calls `listener` with every new record; returns an unsubscribe. */
  onRecord(listener: (record: TransitionRecord) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #track(actor: string, state: string): Track {
    let track = this.#tracks.get(actor);
    if (!track) {
      track = { summary: { actor, state, since: Date.now(), attempts: 0, lastError: undefined }, ring: new Ring(this.#options.capacity) };
      this.#tracks.set(actor, track);
    }
    return track;
  }

  /** Every snapshot, a change or not: the failure count and the last error as they are now. */
  #update(track: Track, snapshot: RecordedSnapshot): void {
    const summary = track.summary;
    summary.attempts = snapshot.context.attempts;
    const lastError = reasonOf(snapshot.context.lastError);
    if (lastError !== undefined) summary.lastError = this.#scrub(lastError);
  }

  /** A change of state, caused by the event `context.cause`; `error` when the change brought a new one. */
  #record(track: Track, from: string, to: string, context: RecordedSnapshot['context'], error: unknown): void {
    const summary = track.summary;
    summary.state = to;
    summary.since = Date.now();
    const record: TransitionRecord = { seq: ++this.#seq, at: summary.since, actor: summary.actor, from, to, event: eventLabel(context.cause) };
    // The same reason the `lifeline:slot:state` channel publishes (change-reason.ts).
    const { reason, detail, errno } = changeReason(from, to, error, context.endReason, this.#scrubText);
    if (reason !== undefined) record.reason = reason;
    if (detail !== undefined) record.detail = detail;
    if (errno !== undefined) record.errno = errno;
    track.ring.push(record);
    for (const listener of this.#listeners) listener(record);
  }

  readonly #scrubText = (text: string): string => this.#options.redactor.text(text);

  #scrub(text: string | undefined): string | undefined {
    return text === undefined ? undefined : this.#options.redactor.text(text);
  }
}
