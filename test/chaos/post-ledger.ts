/**
 * The POST orders' ledger: for each idempotency key, whether its caller saw it
 * succeed and how many times the server saw it. Each key is checked once its
 * operation has been settled for `window` ms, then forgotten, so a long soak
 * holds only the last few seconds of keys (a ledger of every key grew the heap
 * ~0.1 MB/s and hid whatever lifeline itself kept).
 *
 * The rules, as before: no key reaches the server twice; a POST that succeeded
 * reached it exactly once; every key the server saw was sent by a caller. Plus
 * the one that lets a key be forgotten: no POST reaches the server more than
 * `window` ms after its caller's operation settled (nothing lifeline does takes
 * that long; a request in the kernel's buffers is read in milliseconds).
 *
 * Keys are `c<caller>-<n>`, n counting each caller's operations in order; a
 * caller runs one operation at a time, so its keys settle in order, and a
 * watermark per caller (every POST with a smaller n is forgotten) tells a late
 * key from one never sent.
 */
interface Entry {
  caller: number;
  n: number;
  sentAt: number;
  /** When the caller's operation settled, and whether it succeeded. */
  settledAt: number | undefined;
  ok: boolean;
  seen: number;
}

const KEY = /^c(\d+)-(\d+)$/;

export class PostLedger {
  /** POST keys sent, in all. */
  sent = 0;
  /** Keys the server saw more than once, in all. */
  duplicated = 0;
  /** Keys in the order sent (Map order): what is still within the window. */
  readonly #live = new Map<string, Entry>();
  /** Per caller: every one of its POSTs with a smaller n was checked and forgotten. */
  readonly #forgotten = new Map<number, number>();
  readonly #window: number;
  readonly #fail: (violation: string) => void;

  constructor(window: number, fail: (violation: string) => void) {
    this.#window = window;
    this.#fail = fail;
  }

  static key(caller: number, n: number): string {
    return `c${caller}-${n}`;
  }

  /** Keys still held (bounded by the POST rate times the window, plus whatever is pending). */
  get size(): number {
    return this.#live.size;
  }

  /** A caller is about to send the POST `key`. */
  send(key: string, now: number): void {
    const [, caller, n] = KEY.exec(key)!;
    this.sent++;
    this.#live.set(key, { caller: Number(caller), n: Number(n), sentAt: now, settledAt: undefined, ok: false, seen: 0 });
  }

  /** Its caller's operation settled (`ok`: a 200 with this key's answer). */
  settled(key: string, ok: boolean, now: number): void {
    const entry = this.#live.get(key);
    if (entry === undefined) return;
    entry.settledAt = now;
    entry.ok = ok;
  }

  /** The server received a POST carrying `key` (before any fault touched it). */
  seen(key: string): void {
    const entry = this.#live.get(key);
    if (entry !== undefined) {
      entry.seen++;
      return;
    }
    const match = KEY.exec(key);
    const forgotten = match ? (this.#forgotten.get(Number(match[1])) ?? 0) : 0;
    if (match && Number(match[2]) < forgotten) {
      this.#fail(`the server saw POST key ${key} more than ${this.#window} ms after its caller's operation settled (a late send or a duplicate), or a key no caller sent`);
    } else {
      this.#fail(`the server saw POST key ${key}, which no caller sent`);
    }
  }

  /** Checks and forgets every key whose operation settled more than `window` ms ago. */
  prune(now: number): void {
    for (const [key, entry] of this.#live) {
      // Sent within the window: this one and every later one cannot have settled long enough ago.
      if (now - entry.sentAt <= this.#window) break;
      if (entry.settledAt === undefined || now - entry.settledAt <= this.#window) continue;
      this.#check(key, entry);
      this.#live.delete(key);
      this.#forgotten.set(entry.caller, Math.max(this.#forgotten.get(entry.caller) ?? 0, entry.n + 1));
    }
  }

  /** Checks every key still held (after the heal, once every caller has settled). */
  finish(): void {
    for (const [key, entry] of this.#live) this.#check(key, entry);
    this.#live.clear();
  }

  #check(key: string, entry: Entry): void {
    if (entry.seen > 1) {
      this.duplicated++;
      this.#fail(`POST ${key} reached the server ${entry.seen} times`);
    }
    if (entry.ok && entry.seen !== 1) this.#fail(`POST ${key} succeeded but the server saw it ${entry.seen} times`);
  }
}
