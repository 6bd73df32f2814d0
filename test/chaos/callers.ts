/**
 * The soak's callers: loops that send idempotent GETs (retried by the caller until
 * one succeeds or the run ends) and POST orders with an `idempotency-key` (never
 * retried by anyone), each through one of the pool's three doors: `pool.request`,
 * `tryAcquire` + `lease.request` + `release`, or `acquire` + the same; and now and
 * then `pool.request` with an AbortSignal that fires after a random moment.
 *
 * Every operation is registered while in flight, so a stuck one is seen (past its
 * bound) and none is left pending at the end. Each acquire's wait is measured
 * against its deadline. Each response must be the answer to its own request: the
 * server echoes the GET's nonce and the POST's key.
 */
import type { ClientPool, Lease, LifelineResponse, RequestOptions } from '../../src/index.js';
import { isLifelineError, type ErrorCode } from '../../src/index.js';
import { InFlight } from './in-flight.js';
import { PostLedger } from './post-ledger.js';
import type { Rng } from './prng.js';

/**
 * What a request may fail with under these faults, each for a reason:
 * - ACQUIRE_TIMEOUT: every slot is down (server stopped, connections dropped) or busy
 *   (black-holed requests hold their slot until headersTimeout) past the caller's deadline.
 * - CONNECTION_LOST: dropAll/resetAll/stop/closeAfter kill a socket with the request on it,
 *   or the lease's connection died between the grant and the request.
 * - HEADERS_TIMEOUT: a black-holed request, or a delay longer than headersTimeout.
 * Not BODY_TIMEOUT (no fault stalls a body: bodies are written at once), not
 * MALFORMED_RESPONSE (nothing here corrupts HTTP; a cut response is CONNECTION_LOST), not
 * REQUEST_FAILED (unclassified), REQUEST_ABORTED (no signal is used), POOL_CLOSED (callers
 * finish before the pool closes) or LEASE_* (a caller misuse): any of those is a finding.
 */
export const EXPECTED_REQUEST_ERRORS: ReadonlySet<ErrorCode> = new Set(['ACQUIRE_TIMEOUT', 'CONNECTION_LOST', 'HEADERS_TIMEOUT']);

/** What only a request whose caller aborted it may also fail with: aborted while waiting, or while in flight. */
export const ABORT_ERRORS: ReadonlySet<ErrorCode> = new Set(['ACQUIRE_ABORTED', 'REQUEST_ABORTED']);

export interface CallerOptions {
  /** Acquire deadlines drawn for each operation (ms). */
  acquireTimeout: [number, number];
  /**
   * Slack on the bound past which an operation counts as stuck (ms): event-loop lag on a loaded
   * 2-core machine. Not used for the acquire and abort checks, which are exact (see #acquire).
   */
  acquireMargin: number;
  /** Bound on one lease.request: headersTimeout + bodyTimeout (ms). */
  requestBound: number;
  /** Share of operations that are POST orders. */
  postShare: number;
  /** How long a POST key is held after its operation settled, for the server's side to be checked (ms). */
  postWindow: number;
}

type Door = 'request' | 'abort' | 'try' | 'acquire';

export class Callers {
  getOk = 0;
  getFailed = 0;
  postOk = 0;
  postFailed = 0;
  tryMisses = 0;
  acquires = 0;
  maxAcquireWait = 0;
  aborted = 0;
  readonly errors = new Map<string, number>();
  /** The POST keys sent, whether the caller saw each succeed, and how often the server saw it (the last `postWindow` ms of them). */
  readonly posts: PostLedger;
  readonly inFlight: InFlight;
  readonly #pool: ClientPool;
  readonly #options: CallerOptions;
  readonly #fail: (violation: string) => void;
  readonly #check: (where: string) => void;

  /** `fail` records a violation; `check` runs the pool's invariants at an event. */
  constructor(pool: ClientPool, options: CallerOptions, fail: (violation: string) => void, check: (where: string) => void) {
    this.#pool = pool;
    this.#options = options;
    this.#fail = fail;
    this.#check = check;
    this.inFlight = new InFlight(fail);
    this.posts = new PostLedger(options.postWindow, fail);
  }

  get ok(): number {
    return this.getOk + this.postOk;
  }

  get failed(): number {
    return this.getFailed + this.postFailed;
  }

  /** One caller: operations until `running()` turns false. Never rejects. */
  async run(id: number, rng: Rng, running: () => boolean): Promise<void> {
    for (let n = 0; running(); n++) {
      if (rng.chance(this.#options.postShare)) await this.#order(PostLedger.key(id, n), rng);
      else await this.#ticker(`c${id}-${n}`, rng, running);
      await sleep(rng.int(0, 4));
    }
  }

  /** An idempotent GET: the caller retries it until one attempt succeeds or the run ends. */
  async #ticker(name: string, rng: Rng, running: () => boolean): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const nonce = `${name}-${attempt}`;
      const ok = await this.#send(`GET ${nonce}`, rng, { path: '/ticker', query: { n: nonce } }, (body) => body.n === nonce);
      if (ok) this.getOk++;
      else this.getFailed++;
      if (ok || !running()) return;
      await sleep(rng.int(1, 20));
    }
  }

  /** A POST order: one logical order, one key, one attempt; nobody retries it. */
  async #order(key: string, rng: Rng): Promise<void> {
    this.posts.send(key, performance.now());
    const ok = await this.#send(
      `POST ${key}`,
      rng,
      { method: 'POST', path: '/order', headers: { 'idempotency-key': key, 'content-type': 'application/json' }, body: '{"qty":"0.01"}' },
      (body) => body.key === key,
    );
    this.posts.settled(key, ok, performance.now());
    if (ok) this.postOk++;
    else this.postFailed++;
  }

  /** Sends through a random door; true on a 200 whose body is this request's answer. */
  async #send(what: string, rng: Rng, request: RequestOptions, mine: (body: Record<string, unknown>) => boolean): Promise<boolean> {
    const door = rng.pick<Door>(['request', 'request', 'abort', 'try', 'acquire', 'try', 'acquire']);
    const [min, max] = this.#options.acquireTimeout;
    const timeout = rng.int(min, max);
    const { acquireMargin, requestBound } = this.#options;
    // pool.request re-sends a request that never reached the wire, up to 3 connections.
    const bound = (door === 'request' || door === 'abort' ? 3 * timeout : timeout) + requestBound + acquireMargin;
    const op = this.inFlight.start(`${what} via ${door}`, bound);
    const abort = door === 'abort' ? this.#abortAfter(rng.int(0, 300)) : undefined;
    try {
      let response: LifelineResponse;
      if (door === 'request' || door === 'abort') {
        response = await this.#pool.request({ ...request, timeout, signal: abort?.signal });
      } else {
        let lease: Lease | undefined = door === 'try' ? this.#pool.tryAcquire() : undefined;
        if (door === 'try' && !lease) this.tryMisses++;
        lease ??= await this.#acquire(timeout);
        this.#check(`${what} acquired slot ${lease.slot}`);
        try {
          response = await lease.request(request);
        } finally {
          lease.release();
          this.#check(`${what} released slot ${lease.slot}`);
        }
      }
      const body = response.json() as Record<string, unknown>;
      if (response.status !== 200 || !mine(body)) {
        this.#fail(`${what} via ${door} got someone else's answer: ${response.status} ${response.text()}`);
        return false;
      }
      return true;
    } catch (error) {
      const code = isLifelineError(error) ? error.code : `non-LifelineError ${String(error)}`;
      this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
      const expected = isLifelineError(error) && (EXPECTED_REQUEST_ERRORS.has(error.code) || (abort !== undefined && ABORT_ERRORS.has(error.code)));
      if (!expected) this.#fail(`${what} via ${door} rejected with ${code}: ${(error as Error)?.message}`);
      return false;
    } finally {
      abort?.settled();
      this.inFlight.done(op);
      this.#check(`${what} settled`);
    }
  }

  /**
   * An AbortSignal that fires after `ms`; once it has, the request must settle in that same turn
   * of the event loop. An abort settles a request synchronously (the wait is cancelled in the
   * ledger, an in-flight request fails through undici's abort), and the caller's continuations
   * are microtasks, which all run before any immediate: so a referee immediate armed at the abort
   * finds the request settled, however loaded the machine. A wall-clock margin flaked under load.
   */
  #abortAfter(ms: number): { signal: AbortSignal; settled(): void } {
    const controller = new AbortController();
    let settled = false;
    const timer = setTimeout(() => {
      this.aborted++;
      controller.abort();
      setImmediate(() => {
        if (!settled) this.#fail('a request was still pending in the turn after its signal fired');
      });
    }, ms);
    return {
      signal: controller.signal,
      settled: () => {
        settled = true;
        clearTimeout(timer);
      },
    };
  }

  /**
   * `pool.acquire`, refereed: granted or refused, it must settle by its own deadline. Exactly, not
   * within a wall-clock margin (which flaked on a loaded machine: issue 14): a referee timer of the
   * same duration is armed right after the pool armed its own. Node keeps one list per duration
   * and fires it in the order armed, draining microtasks between callbacks, so however late both
   * fire, the pool's runs first and the acquire has settled before the referee looks.
   */
  async #acquire(timeout: number): Promise<Lease> {
    const started = performance.now();
    let settled = false;
    const acquiring = this.#pool.acquire({ timeout });
    const referee = setTimeout(() => {
      if (!settled) this.#fail(`acquire({ timeout: ${timeout} }) had not settled when a timer of the same duration, armed after it, fired`);
    }, timeout);
    try {
      return await acquiring;
    } finally {
      settled = true;
      clearTimeout(referee);
      this.acquires++;
      this.maxAcquireWait = Math.max(this.maxAcquireWait, performance.now() - started);
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
