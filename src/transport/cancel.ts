/**
 * The cancellation of one connect: what an AbortSignal does for a dial, at a fraction of its cost.
 *
 * Every connection a server ends in the normal course is replaced by a dial, and every dial
 * needs a way to be abandoned (its slot left `connecting`). An AbortController per dial, with
 * the listeners the dial, its tunnel and its turn with a DialLimiter add and remove on its
 * signal, cost about a tenth of lifeline's own CPU per replacement against nginx with
 * `keepalive_requests 10` (event targets, listener bookkeeping, the signal itself). A pool's
 * dial needs only a flag and a callback or two; an AbortSignal is made on demand, for what
 * takes one (ws, a feed's URL and header providers).
 */

/** What a connect reads: whether it was cancelled, and a callback for when it is. */
export interface CancelSignal {
  readonly aborted: boolean;
  /** Calls `listener` once when cancelled (never if it was already: read `aborted` first); returns its removal. */
  onCancel(listener: () => void): () => void;
}

const nothing = () => {};

export class Cancel implements CancelSignal {
  #aborted = false;
  #listeners: (() => void)[] = [];
  #controller: AbortController | undefined;

  get aborted(): boolean {
    return this.#aborted;
  }

  onCancel(listener: () => void): () => void {
    if (this.#aborted) return nothing;
    const listeners = this.#listeners;
    listeners.push(listener);
    return () => {
      const at = listeners.indexOf(listener);
      if (at >= 0) listeners.splice(at, 1);
    };
  }

  /** Cancels: each listener is called once, in the order added. Idempotent. */
  cancel(): void {
    if (this.#aborted) return;
    this.#aborted = true;
    const listeners = this.#listeners;
    this.#listeners = [];
    for (const listener of listeners) listener();
    this.#controller?.abort();
  }

  /** An AbortSignal that aborts with this one, for an API that takes one; made on first use. */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort();
    }
    return this.#controller.signal;
  }
}

/** A {@link CancelSignal} that follows an AbortSignal, for a caller that has one. */
export function cancelOnAbort(signal: AbortSignal): CancelSignal {
  return {
    get aborted() {
      return signal.aborted;
    },
    onCancel(listener) {
      if (signal.aborted) return nothing;
      signal.addEventListener('abort', listener, { once: true });
      return () => signal.removeEventListener('abort', listener);
    },
  };
}
