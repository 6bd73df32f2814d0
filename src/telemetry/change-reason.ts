/**
 * Why a slot (or a feed) changed state, told the same way to the flight recorder and to the
 * `lifeline:slot:state` channel, so the two always agree (issue 17, item 3):
 *
 * ```
 *  a failure ............ reason: its code (CONNECTION_LOST, CONNECT_FAILED...), errno: ECONNRESET,
 *                         ECONNREFUSED... when a system error is behind it, detail: its message
 *  healthy -> connecting  reason: ENDED (the server ended it: detail server-closed; goaway for an HTTP/2 one without streams) or RECYCLED
 *  healthy -> draining .. reason: ENDED, detail goaway (HTTP/2: its streams finish first)
 *                         (retired: detail idle, age, keep-alive, learned-idle, homing,
 *                         connection-close, deadline, aborted, body-too-large, body-decode-failed, released)
 *  the steps of healing . nothing
 * ```
 */

/** Why lifeline retired a connection (`RECYCLED`); any other clean end is the server's (`ENDED`). */
export const RETIREMENTS: ReadonlySet<string> = new Set([
  'idle',
  'age',
  'keep-alive',
  'learned-idle',
  'homing',
  'connection-close',
  'deadline',
  'aborted',
  'body-too-large',
  'body-decode-failed',
  'released',
]);

export interface ChangeReason {
  reason: string | undefined;
  /** A failure's message (scrubbed), or the cause of a clean end. */
  detail: string | undefined;
  /** The system error code behind a failure (`ECONNREFUSED`, `ECONNRESET`, `ETIMEDOUT`...), if any. */
  errno: string | undefined;
}

const NONE: ChangeReason = { reason: undefined, detail: undefined, errno: undefined };

/** A system error's code, as Node spells them: E and capitals (`ECONNRESET`), never a lifeline or undici code. */
const ERRNO = /^E[A-Z0-9]+$/;

/** The first system error code on `error` or its chain of causes. */
export function errnoOf(error: unknown): string | undefined {
  let current = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && ERRNO.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * The reason of a change `from` -> `to`: `error` the error that came with it (if it brought a new
 * one), `ended` why the connection left healthy cleanly (the slot's `endReason`), `scrub` the
 * redactor of the pool or feed (an error's message may quote a secret).
 */
export function changeReason(from: string, to: string, error: unknown, ended: string | undefined, scrub: (text: string) => string): ChangeReason {
  if (error !== undefined && error !== null) {
    const code = (error as { code?: unknown }).code;
    const message = error instanceof Error ? error.message : String(error);
    return { reason: typeof code === 'string' ? code : scrub(message), detail: scrub(message), errno: errnoOf(error) };
  }
  // A GOAWAY ends the connection cleanly where it starts draining (HTTP/2), not where the slot redials.
  if (from === 'healthy' && (to === 'connecting' || to === 'draining') && ended !== undefined) {
    return { reason: RETIREMENTS.has(ended) ? 'RECYCLED' : 'ENDED', detail: ended, errno: undefined };
  }
  // A failure is never without a reason, even one that came with no error.
  if (to === 'poisoned') return { reason: 'CONNECTION_LOST', detail: undefined, errno: undefined };
  return NONE;
}
