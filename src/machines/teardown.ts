/**
 * The teardown a slot and a feed both run when their connection failed: drop
 * it and wait until its socket is gone, so that a slot or a feed never holds
 * two connections, and the next dial starts only once the last socket closed.
 * Never rejects: a slot or a feed heals whatever the old socket does on its way out.
 */
import { fromPromise } from 'xstate';

/** What a teardown needs of a connection. */
export interface Closable {
  /** Close the socket now. Idempotent. */
  destroy(): void;
  /** Settles once the socket is fully closed. Never rejects. */
  readonly closed: Promise<void>;
}

export const teardown = fromPromise<void, Closable | undefined>(async ({ input: connection }) => {
  if (!connection) return;
  try {
    connection.destroy();
  } catch {}
  await connection.closed;
});
