/**
 * A budget kept outside the process (Redis: redis-store.ts), shared by a fleet. Every call is a
 * round trip, so each answers with a promise; the governor awaits only `reserve`, at acquire, and
 * sends the others without waiting (a failed one leaves the reservation to its TTL, which only
 * ever over-counts).
 *
 * A reservation has an id: it counts from its reserve until `ttl` + a window (in flight, or its
 * process died); `commit` dates it at its request's settle, `cancel` drops it.
 */
export interface SharedReply {
  /** The reservation's id when it was made, else undefined. */
  id: string | undefined;
  /** 0 when reserved, else ms until the oldest spends that must go have gone. */
  wait: number;
  /** Spent + reserved weight in each window, as the store counted it (this reservation included). */
  used: number[];
}

export interface SharedBudgetStore {
  /** ms between tries of the store while the governor has fallen back to its local share. */
  readonly retry: number;
  /** Reserves `weight` if every window's count + `weight` stays within `caps[i]` (windows of `pers[i]` ms). */
  reserve(weight: number, caps: readonly number[], pers: readonly number[]): Promise<SharedReply>;
  /**
   * Counts `weight` as a reservation, with no check against any cap, and returns its id at once, the
   * call sent without waiting: a request sent on a degraded governor's local share, so that the fleet's
   * count sees it if the store can (it was only slow). Its `commit` or `cancel` follows as for a reservation.
   */
  record(weight: number, pers: readonly number[]): string;
  /**
   * The reservation's request settled (the venue has had it): it counts from now for one window.
   * `used[i]`, when given and not -1, is the venue's used weight for window i in the response: it
   * replaces, atomically, what the store counted that the venue had surely counted when it answered
   * (the rule: redis-script.ts), never what was reserved or sent since the request was reserved.
   */
  commit(id: string, weight: number, pers: readonly number[], used?: readonly number[]): Promise<void>;
  /** The reservation was never sent, or never left the process: it counts no more. */
  cancel(id: string, weight: number, pers: readonly number[]): Promise<void>;
  /** Counts `weights[i]` in window i from now: what a process spent on its local share while the store was out of reach. */
  add(weights: readonly number[], pers: readonly number[]): Promise<void>;
  /** Spent + reserved weight in each window. */
  used(pers: readonly number[]): Promise<number[]>;
}
