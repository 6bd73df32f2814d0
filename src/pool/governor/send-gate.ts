/**
 * The last step before a request is written, when a pool has a governor or a signer: sign
 * this attempt, then spend its weight. In that order, so that a hook that fails spends
 * nothing, and so that the weight is spent in the same turn as the write: nothing goes
 * out into a pause that began since the acquire.
 */
import type { Dispatcher } from 'undici';
import { LifelineError } from '../../errors.js';
import type { Governor, Ticket } from './governor.js';
import type { BudgetFields, SignFields } from './request-fields.js';
import { signDispatch, type SignHook } from './sign.js';

export interface GatedSend {
  dispatch: Dispatcher.DispatchOptions;
  /** The weight spent on this send, to settle with its outcome; undefined without a governor. */
  ticket: Ticket | undefined;
}

/**
 * Signs and spends for one attempt. `held` is the weight the lease reserved at acquire (used when
 * the request asks for the same weight and priority, else handed back and taken afresh, failing
 * fast). Returns the coded error (delivery `unsent`) instead of throwing.
 */
export function gateSend(
  governor: Governor | undefined,
  poolSign: SignHook | undefined,
  held: Ticket | undefined,
  options: BudgetFields & SignFields,
  dispatch: Dispatcher.DispatchOptions,
  attempt: string,
): GatedSend | LifelineError {
  const sign = options.sign === undefined ? poolSign : options.sign || undefined;
  if (sign) {
    const signed = signDispatch(dispatch, sign, attempt);
    if (signed instanceof LifelineError) {
      if (held) governor?.release(held);
      return signed;
    }
    dispatch = signed;
  }
  if (!governor) return { dispatch, ticket: undefined };
  const weight = options.weight ?? 1;
  const priority = options.priority ?? 'normal';
  let ticket = held;
  if (!ticket || ticket.weight !== weight || ticket.priority !== priority) {
    if (ticket) governor.release(ticket);
    let taken: Ticket | number;
    try {
      taken = governor.take(weight, priority);
    } catch (error) {
      return error as LifelineError;
    }
    if (typeof taken === 'number') {
      const error = governor.rateLimited(taken, priority);
      error.delivery = 'unsent';
      return error;
    }
    ticket = taken;
  }
  const refused = governor.spend(ticket);
  return refused ?? { dispatch, ticket };
}
