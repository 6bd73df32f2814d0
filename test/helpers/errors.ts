/**
 * The error a promise rejects with, asserted to be a LifelineError: what a test
 * checks the code and message of.
 */
import { isLifelineError, type LifelineError } from '../../src/index.js';

export async function rejection(promise: Promise<unknown>): Promise<LifelineError> {
  const error = await promise.then(
    () => new Error('expected a rejection, but the promise resolved'),
    (e: unknown) => e,
  );
  if (!isLifelineError(error)) throw error instanceof Error ? error : new Error(`expected a LifelineError, got ${String(error)}`);
  return error;
}

/** The error `run` throws, asserted to be a LifelineError (the synchronous `rejection`). */
export function thrown(run: () => unknown): LifelineError {
  try {
    run();
  } catch (error) {
    if (isLifelineError(error)) return error;
    throw error;
  }
  throw new Error('expected a throw, but it returned');
}
