/**
 * One model for an application's own machine and the lifeline machines it
 * lives beside: each machine becomes a region of a parallel model, so a path
 * interleaves the app's events with the feed's or the slot's, and coverage
 * counts every region's transitions under their own ids.
 *
 * An app hears a feed's states (`feed.on('state', s => app.send({ type: `feed.${s}` }))`);
 * the model does the same: every state a region lists in `announce` enters
 * raises `<region>.<state key>` to the whole model, within the same step. So
 * `open.done` then `always[allAcked]` takes the feed to `healthy` and, in the
 * same step, the app from `waiting` to `syncing`, as the real app does when it
 * hears `healthy`. Raised events are the model's own: no path offers them as a
 * step a test performs. An app's transitions on them should be unguarded: a
 * guarded one is the model event `feed.healthy[guard]`, which no raise matches.
 *
 * ```ts
 * const model = composeMachines('orderbook', { book: bookMachine, feed: feedMachine }, { announce: ['feed'] });
 * const { paths, summary } = machinePaths(model, { strategy: 'shortest' });
 * ```
 */
import { createMachine, raise, type AnyStateMachine, type AnyStateNode } from 'xstate';
import { modelConfig, type ModelTransition, type TestMachine } from './model.js';

export interface ComposeOptions {
  /** Regions whose state entries are raised as `<region>.<state key>` to the other regions. */
  announce?: readonly string[];
}

/**
 * A parallel model of `regions` (region key → machine), with root id `id`.
 * Machine ids must differ from each other and from `id`: state ids stay as in
 * each machine (`#live`, `feed.connected.healthy`).
 */
export function composeMachines(id: string, regions: Record<string, AnyStateMachine>, options: ComposeOptions = {}): TestMachine {
  const keys = Object.keys(regions);
  const announced = new Set(options.announce ?? []);
  for (const key of announced) if (!keys.includes(key)) throw new Error(`composeMachines: announce names ${key}, which is not a region (${keys.join(', ')})`);
  const ids = new Set<string>([id]);
  for (const machine of Object.values(regions)) {
    if (ids.has(machine.id)) throw new Error(`composeMachines: two of the model's machines would have the id ${machine.id}`);
    ids.add(machine.id);
  }

  const transitions: ModelTransition[] = [];
  const internal = new Set<string>();
  const states: Record<string, ReturnType<typeof modelConfig>> = {};
  for (const [key, machine] of Object.entries(regions)) {
    const entry = announced.has(key)
      ? (node: AnyStateNode) => {
          if (node === machine.root) return [];
          const type = `${key}.${node.key}`;
          internal.add(type);
          return [raise({ type })];
        }
      : undefined;
    states[key] = modelConfig(machine.root, transitions, entry);
  }
  return { machine: createMachine({ id, type: 'parallel', states }), transitions, internal, regions: keys };
}
