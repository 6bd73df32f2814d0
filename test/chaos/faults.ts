/**
 * The soak's fault schedule: a seeded random sequence of what breaks next, on the
 * HTTP server or one of the WebSocket servers, every `gap` ms.
 *
 * Kinds are dealt from a shuffled deck (every kind once per deck, then a new
 * shuffle), so a short run still meets every fault. An event (drop, reset, an
 * oversized message) happens at once; a condition (black hole, delay, restart,
 * silence...) is switched on and off again after a random duration. Conditions
 * overlap, so each is reference-counted per server: it ends when the last hold on
 * it ends, not when the first one does. A restart and a refusal share one count
 * (the server is down until both have ended): they end the same way, by listening again.
 */
import type { FaultHttpServer, FaultWsServer } from '../../src/testing/index.js';
import type { Rng } from './prng.js';

export const FAULT_KINDS = [
  'http.drop',
  'http.reset',
  'http.blackHole',
  'http.delay',
  'http.connectionClose',
  'http.closeAfter',
  'http.restart',
  'http.refuse',
  'ws.drop',
  'ws.reset',
  'ws.blackHole',
  'ws.delay',
  'ws.closeAfter',
  'ws.restart',
  'ws.refuse',
  'ws.silence',
  'ws.noPongs',
  'ws.oversized',
] as const;

export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultScheduleOptions {
  /** Pause between two faults (ms), drawn uniformly. */
  gap: [number, number];
  /** How long a condition lasts (ms), drawn uniformly. */
  duration: [number, number];
  /** Response or handshake delays drawn for `delay` (ms): some past headersTimeout / connectTimeout. */
  delay: [number, number];
  /** Size of the message `ws.oversized` sends (bytes): more than the feeds' maxMessageSize. */
  oversizedBytes: number;
}

type Server = FaultHttpServer | FaultWsServer;

export class FaultSchedule {
  readonly counts = Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>;
  readonly #http: FaultHttpServer;
  readonly #ws: readonly FaultWsServer[];
  readonly #rng: Rng;
  readonly #options: FaultScheduleOptions;
  readonly #holds = new Map<string, number>();
  readonly #timers = new Set<NodeJS.Timeout>();
  /** Stops and restarts in flight: `stop()` waits for them, so healing never races a late `stop()`. */
  readonly #pending = new Set<Promise<unknown>>();
  /** Failures of the fault controls themselves (a restart that could not listen again). */
  readonly errors: string[] = [];
  #deck: FaultKind[] = [];
  #running = false;

  constructor(http: FaultHttpServer, ws: readonly FaultWsServer[], rng: Rng, options: FaultScheduleOptions) {
    this.#http = http;
    this.#ws = ws;
    this.#rng = rng;
    this.#options = options;
  }

  get total(): number {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }

  start(): void {
    this.#running = true;
    this.#next();
  }

  /** No new fault, no condition left to switch off later; then `healAll()` brings every server back. */
  async stop(): Promise<void> {
    this.#running = false;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#holds.clear();
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  /** Clears every fault and listens again where a server was stopped. */
  async healAll(): Promise<void> {
    const servers: Server[] = [this.#http, ...this.#ws];
    for (const server of servers) server.heal();
    await Promise.all(servers.map((server) => server.restart()));
  }

  #after(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    this.#timers.add(timer);
  }

  #next(): void {
    if (!this.#running) return;
    const [min, max] = this.#options.gap;
    this.#after(this.#rng.int(min, max), () => {
      if (this.#deck.length === 0) this.#deck = this.#rng.shuffle(FAULT_KINDS);
      this.#inject(this.#deck.pop()!);
      this.#next();
    });
  }

  #track(work: Promise<unknown>, what: string): void {
    const tracked = work.catch((error: unknown) => {
      this.errors.push(`${what}: ${String(error)}`);
    });
    this.#pending.add(tracked);
    void tracked.finally(() => this.#pending.delete(tracked));
  }

  /** Holds a condition for a random duration: `on` at once (a new delay replaces the old), `off` when the last hold ends. */
  #hold(key: string, on: () => void | Promise<void>, off: () => void | Promise<void>): void {
    this.#holds.set(key, (this.#holds.get(key) ?? 0) + 1);
    this.#track(Promise.resolve().then(on), `${key} on`);
    const [min, max] = this.#options.duration;
    this.#after(this.#rng.int(min, max), () => {
      const left = (this.#holds.get(key) ?? 1) - 1;
      this.#holds.set(key, left);
      if (left === 0) this.#track(Promise.resolve().then(off), `${key} off`);
    });
  }

  #inject(kind: FaultKind): void {
    this.counts[kind]++;
    const rng = this.#rng;
    const http = this.#http;
    const wsIndex = rng.int(0, this.#ws.length - 1);
    const ws = this.#ws[wsIndex]!;
    const [delayMin, delayMax] = this.#options.delay;
    switch (kind) {
      case 'http.drop':
        return http.dropAll();
      case 'http.reset':
        return http.resetAll();
      case 'http.blackHole':
        return this.#hold('http.blackHole', () => http.blackHole(true), () => http.blackHole(false));
      case 'http.delay': {
        const ms = rng.int(delayMin, delayMax);
        return this.#hold('http.delay', () => http.delay(ms), () => http.delay(0));
      }
      case 'http.connectionClose':
        return this.#hold('http.connectionClose', () => http.connectionClose(true), () => http.connectionClose(false));
      case 'http.closeAfter': {
        const n = rng.int(1, 5);
        return this.#hold('http.closeAfter', () => http.closeAfter(n), () => http.closeAfter(undefined));
      }
      case 'http.restart':
        return this.#hold('http.down', () => http.stop(), () => http.restart());
      case 'http.refuse':
        return this.#hold('http.down', () => http.refuse(), () => http.accept());
      case 'ws.drop':
        return ws.dropAll();
      case 'ws.reset':
        return ws.resetAll();
      case 'ws.blackHole':
        return this.#hold(`ws${wsIndex}.blackHole`, () => ws.blackHole(true), () => ws.blackHole(false));
      case 'ws.delay': {
        const ms = rng.int(delayMin, delayMax);
        return this.#hold(`ws${wsIndex}.delay`, () => ws.delay(ms), () => ws.delay(0));
      }
      case 'ws.closeAfter': {
        const n = rng.int(1, 4);
        return this.#hold(`ws${wsIndex}.closeAfter`, () => ws.closeAfter(n), () => ws.closeAfter(undefined));
      }
      case 'ws.restart':
        return this.#hold(`ws${wsIndex}.down`, () => ws.stop(), () => ws.restart());
      case 'ws.refuse':
        return this.#hold(`ws${wsIndex}.down`, () => ws.refuse(), () => ws.accept());
      case 'ws.silence':
        return this.#hold(`ws${wsIndex}.silence`, () => ws.silence(true), () => ws.silence(false));
      case 'ws.noPongs':
        return this.#hold(`ws${wsIndex}.noPongs`, () => ws.answerPings(false), () => ws.answerPings(true));
      case 'ws.oversized':
        return ws.sendOversized(this.#options.oversizedBytes);
    }
  }
}
