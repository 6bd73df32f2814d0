/**
 * The per-call fields the governor and the signer read, shared by `lease.request`,
 * `pool.request` and (but `sign`) `pool.acquire` / `pool.tryAcquire`.
 */
import type { Priority } from './governor-options.js';
import type { SignHook } from './sign.js';

export interface BudgetFields {
  /** What the request costs in the governor's windows (the venue's published weight). Default 1. Ignored without a `governor`. */
  weight?: number;
  /**
   * Its class: `order` may spend the budget `reserve.order` keeps from the others, `background`
   * only what both reserves leave. Waiters are served by priority, then first come. Default `normal`.
   */
  priority?: Priority;
}

export interface SignFields {
  /** This request's own signer, or `false` to send it unsigned (a public endpoint). Default: the pool's `sign`. */
  sign?: SignHook | false;
}
