/**
 * Operations in flight (a request, a feed send), each with the time it may take:
 * a sampler flags the ones past their bound, once each, so a hang is reported
 * while it happens, and the end of a run can list whatever never settled.
 */
interface Operation {
  what: string;
  started: number;
  bound: number;
  flagged: boolean;
}

export class InFlight {
  readonly #operations = new Map<number, Operation>();
  readonly #fail: (violation: string) => void;
  #next = 0;

  constructor(fail: (violation: string) => void) {
    this.#fail = fail;
  }

  get size(): number {
    return this.#operations.size;
  }

  /** Registers an operation; call `done` with the id once it settles. */
  start(what: string, bound: number): number {
    const id = this.#next++;
    this.#operations.set(id, { what, started: performance.now(), bound, flagged: false });
    return id;
  }

  done(id: number): void {
    this.#operations.delete(id);
  }

  /** Reports each operation pending past its bound, once. */
  flagOverdue(now: number): void {
    for (const op of this.#operations.values()) {
      if (!op.flagged && now - op.started > op.bound) {
        op.flagged = true;
        this.#fail(`${op.what} still pending after ${Math.round(now - op.started)} ms (bound ${op.bound} ms)`);
      }
    }
  }

  describe(): string[] {
    return [...this.#operations.values()].map((op) => op.what);
  }
}
