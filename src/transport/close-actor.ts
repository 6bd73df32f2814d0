/**
 * The shutdown both a pool and a feed go through: send the machine its `close`
 * event, wait until it reaches its final state (its own drain or close
 * handshake decides how long), then stop it so every child and timer is gone.
 */
import type { AnyActorRef } from 'xstate';

export async function closeActor(actor: AnyActorRef): Promise<void> {
  if (actor.getSnapshot().status === 'active') {
    await new Promise<void>((resolve) => {
      const subscription = actor.subscribe({ complete: () => resolve(), error: () => resolve() });
      actor.send({ type: 'close' });
      // A machine that closes synchronously has completed before subscribe could see it.
      if (actor.getSnapshot().status !== 'active') {
        subscription.unsubscribe();
        resolve();
      }
    });
  }
  actor.stop();
}
