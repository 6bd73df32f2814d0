/**
 * The page is told about the machines by the server (src/dashboard/machines.ts):
 * which states their actors report and which chart node each one lights, all
 * taken from the definitions. The page's script names none of them, and the
 * page's stylesheet has a colour for each.
 */
import { describe, expect, it } from 'vitest';
import { createMachine } from 'xstate';
import { FEED_CHART, SLOT_CHART } from '../../src/dashboard/charts.js';
import { pageMachine, pageMachines } from '../../src/dashboard/machines.js';
import { dashboardPage } from '../../src/dashboard/page.js';
import { DASHBOARD_SCRIPT } from '../../src/dashboard/script.js';

const machines = pageMachines();
const charts = { pool: SLOT_CHART, feed: FEED_CHART };

describe('pageMachines', () => {
  it('names every state a slot or a feed reports, with the chart node it lights', () => {
    expect(machines.pool).toEqual({
      chart: 'chart-slot',
      states: [
        { name: 'connecting', node: 'slot.connecting', parents: [] },
        { name: 'healthy', node: 'slot.healthy', parents: [] },
        // A leased healthy slot: not a state of the machine, shown on healthy.
        { name: 'busy', node: 'slot.healthy', parents: [] },
        // HTTP/2: after a GOAWAY, while the streams out finish.
        { name: 'draining', node: 'slot.draining', parents: [] },
        { name: 'poisoned', node: 'slot.poisoned', parents: [] },
        { name: 'backoff', node: 'slot.backoff', parents: [] },
        { name: 'closed', node: 'slot.closed', parents: [] },
      ],
    });
    expect(machines.feed.chart).toBe('chart-feed');
    expect(machines.feed.states).toContainEqual({ name: 'healthy', node: 'feed.connected.healthy', parents: ['feed.connected'] });
    expect(machines.feed.states.map((state) => state.name)).toEqual(['connecting', 'subscribing', 'healthy', 'poisoned', 'backoff', 'closing', 'closed']);
  });

  it.each(['pool', 'feed'] as const)('names only nodes the %s chart has', (kind) => {
    for (const state of machines[kind].states) {
      for (const node of [state.node, ...state.parents]) expect(charts[kind], `${state.name}: ${node}`).toContain(`data-state="${node}"`);
    }
  });

  it('gives the page a template for each chart, and a colour for each state', () => {
    const page = dashboardPage([
      { template: machines.pool.chart, svg: SLOT_CHART },
      { template: machines.feed.chart, svg: FEED_CHART },
    ]);
    expect(page).toContain(`<template id="chart-slot">${SLOT_CHART}</template>`);
    expect(page).toContain(`<template id="chart-feed">${FEED_CHART}</template>`);
    for (const { name } of [...machines.pool.states, ...machines.feed.states]) {
      // The lit chart node (`var(--<state>)`), the table's state cell and the log's arrows.
      expect(page, name).toMatch(new RegExp(`--${name}: #`));
      expect(page, name).toContain(`[data-state-name="${name}"] .state`);
      expect(page, name).toContain(`.to-${name}`);
    }
  });

  it('leaves none of it in the page script', () => {
    for (const { name, node, parents } of [...machines.pool.states, ...machines.feed.states]) {
      for (const id of [node, ...parents]) expect(DASHBOARD_SCRIPT, id).not.toContain(id);
      for (const quote of ["'", '"', '`']) expect(DASHBOARD_SCRIPT, name).not.toContain(`${quote}${name}${quote}`);
    }
    expect(DASHBOARD_SCRIPT).not.toMatch(/['"`](slot|feed)\./);
    expect(DASHBOARD_SCRIPT).not.toMatch(/chart-(slot|feed)/);
  });
});

describe('pageMachine', () => {
  // Any machine: states renamed, nested deeper, and an alias on a nested state.
  const conn = createMachine({
    id: 'conn',
    initial: 'dialing',
    states: {
      dialing: { on: { ok: 'up' } },
      up: {
        initial: 'idle',
        on: { drop: 'dialing' },
        states: { idle: { on: { take: 'working' } }, working: { initial: 'sending', states: { sending: { on: { sent: 'reading' } }, reading: {} } } },
      },
      gone: { type: 'final' },
    },
  });

  it('follows the definition it is given', () => {
    expect(pageMachine(conn, { leased: 'idle' })).toEqual({
      chart: 'chart-conn',
      states: [
        { name: 'dialing', node: 'conn.dialing', parents: [] },
        { name: 'idle', node: 'conn.up.idle', parents: ['conn.up'] },
        { name: 'leased', node: 'conn.up.idle', parents: ['conn.up'] },
        { name: 'sending', node: 'conn.up.working.sending', parents: ['conn.up', 'conn.up.working'] },
        { name: 'reading', node: 'conn.up.working.reading', parents: ['conn.up', 'conn.up.working'] },
        { name: 'gone', node: 'conn.gone', parents: [] },
      ],
    });
  });

  it('refuses an alias of a state the machine does not report, and two states of one name', () => {
    expect(() => pageMachine(conn, { leased: 'up' })).toThrow('the conn machine has no state up for leased to be shown on');
    expect(() => pageMachine(conn, { idle: 'dialing' })).toThrow('the conn machine has two states named idle');
    const twice = createMachine({ id: 'twice', initial: 'a', states: { a: { initial: 'ready', states: { ready: {} } }, b: { initial: 'ready', states: { ready: {} } } } });
    expect(() => pageMachine(twice)).toThrow('the twice machine has two states named ready');
  });
});
