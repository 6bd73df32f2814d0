/**
 * What the page is told about the machines behind its cards, taken from their
 * definitions (src/machines) when a dashboard starts: the states their actors
 * report, and the node of the chart each one lights. The page's script names
 * none of them, so a state renamed, moved or added in a machine shows on the
 * page as the machine now has it.
 */
import type { AnyStateMachine, AnyStateNode } from 'xstate';
import { feedMachine } from '../machines/feed.js';
import { slotMachine, type SlotMachineState, type SlotState } from '../machines/slot.js';
import type { PageMachine, PageMachines, PageState } from './protocol.js';

/**
 * States a slot reports that its machine does not have, and the machine state each
 * one is shown on: `busy` is a healthy slot the ledger has leased (`slotStates` in
 * machines/supervisor.ts). Typed so that a state added to `SlotState` must be placed here.
 */
const SLOT_ALIASES: Record<Exclude<SlotState, SlotMachineState>, SlotMachineState> = { busy: 'healthy' };

/** The id of the page's `<template>` holding `machine`'s chart. */
export const chartTemplate = (machine: AnyStateMachine): string => `chart-${machine.id}`;

/**
 * The states `machine`'s actors report: one per leaf of the machine, named by its
 * key as `slotState` and `feedState` name it (`healthy`, not `connected.healthy`),
 * lighting the leaf's own node; then each of `aliases` (a reported state the
 * machine does not have), right after the state it stands for and lighting the same node.
 * Throws when two would have the same name: the page could not tell them apart.
 */
export function pageMachine(machine: AnyStateMachine, aliases: Readonly<Record<string, string>> = {}): PageMachine {
  const states: PageState[] = [];
  const visit = (node: AnyStateNode, parents: string[]): void => {
    const children: AnyStateNode[] = Object.values(node.states);
    if (!children.length) states.push({ name: node.key, node: node.id, parents });
    const inner = node === machine.root ? parents : [...parents, node.id];
    for (const child of children) visit(child, inner);
  };
  visit(machine.root, []);
  for (const [alias, of] of Object.entries(aliases)) {
    const at = states.findIndex((state) => state.name === of);
    if (at < 0) throw new Error(`the ${machine.id} machine has no state ${of} for ${alias} to be shown on`);
    states.splice(at + 1, 0, { ...states[at]!, name: alias });
  }
  const names = states.map((state) => state.name);
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice !== undefined) throw new Error(`the ${machine.id} machine has two states named ${twice}`);
  return { chart: chartTemplate(machine), states };
}

/** The page's machines: the slot machine behind a pool's card, the feed machine behind a feed's. */
export function pageMachines(): PageMachines {
  return { pool: pageMachine(slotMachine, SLOT_ALIASES), feed: pageMachine(feedMachine) };
}
