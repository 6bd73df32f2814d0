/**
 * The dashboard's one page: HTML, CSS and the script, inline. Nothing is
 * fetched from anywhere but the dashboard itself (the hosts it runs on often
 * have no internet, and a page that loads a CDN script would let that CDN read
 * the operator's connections).
 *
 * The page carries no data: it opens `/events` and builds itself from the
 * snapshot, so the HTML is the same for every process and cannot leak anything.
 * Every value from the stream is put in the DOM as text (`textContent`), never
 * as markup: an error message is whatever a server sent.
 *
 * The script is src/dashboard/client/page-script.ts, type-checked against the
 * DOM and compiled by `npm run visualize` into script.ts (`DASHBOARD_SCRIPT`):
 * the exact text served, which the Content-Security-Policy allows by its hash.
 *
 * The statecharts come from `toSvg` as `<template>`s, one clone per pool and
 * per feed; each state is a `<g data-state="slot.healthy">`, and the
 * script lights the states the actors are in, listing slot numbers on them.
 * Which node a state lights the snapshot says (machines.ts), not the script.
 * The colours below are by state name (`--healthy`, `.to-healthy`); a pool's
 * governor strip by its state (`data-governor-state`) and its store's.
 */
import { DASHBOARD_SCRIPT } from './script.js';

/** Rows the event log keeps; the snapshot sends at most as many records. */
export const LOG_ROWS = 500;

/** A machine's statechart (`toSvg(machine)`), and the id of the template the page holds it in. */
export interface PageChart {
  template: string;
  svg: string;
}

const STYLE = `
:root { color-scheme: dark; --bg: #0f1419; --panel: #161d25; --line: #263241; --text: #d7dee6; --dim: #8193a6;
  --healthy: #3fb950; --busy: #58a6ff; --draining: #a371f7; --connecting: #d29922; --subscribing: #d29922; --backoff: #db6d28;
  --poisoned: #f85149; --closing: #8b949e; --closed: #6e7681; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); font: 13px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 4px 16px; padding: 12px 20px; border-bottom: 1px solid var(--line); background: var(--panel); }
header h1 { margin: 0; font-size: 17px; letter-spacing: .02em; }
header .sub, h2 .sub { color: var(--dim); font-weight: 400; margin-left: 8px; }
#status { margin-left: auto; padding: 2px 10px; border-radius: 10px; background: var(--closing); color: #000; font-weight: 600; }
#status.live { background: var(--healthy); }
#status.down { background: var(--poisoned); }
main { padding: 16px 20px; display: grid; gap: 16px; }
/* min(): a card narrower than 560 px on a narrow screen, rather than a page wider than the screen. */
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(560px, 100%), 1fr)); gap: 16px; }
.card, .panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; min-width: 0; }
.card h2, .panel h2 { margin: 0 0 6px; font-size: 14px; }
.card h2 .label { color: var(--dim); font-weight: 400; margin-left: 8px; font-family: ui-monospace, monospace; overflow-wrap: anywhere; }
.counters { display: flex; flex-wrap: wrap; gap: 6px 14px; margin-bottom: 8px; color: var(--dim); }
.counters b { color: var(--text); font-variant-numeric: tabular-nums; }
/* A pool's governor (issue 18): state badge (the time left of a pause), degraded store, a bar per window, waiters by priority. */
.governor { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 14px; margin-bottom: 8px; color: var(--dim); }
.governor[hidden] { display: none; }
.governor b { color: var(--text); font-variant-numeric: tabular-nums; }
.gov-title { color: var(--text); font-weight: 600; }
.gov-badge { padding: 1px 8px; border-radius: 9px; font-weight: 700; color: #0f1419; background: var(--dim); }
.gov-state[data-governor-state="open"] { background: var(--healthy); }
.gov-state[data-governor-state="paused"] { background: var(--backoff); }
.gov-state[data-governor-state="banned"] { background: var(--poisoned); color: #fff; }
.gov-degraded { background: var(--connecting); }
.gov-window { display: inline-flex; align-items: center; gap: 6px; }
.gov-bar { position: relative; display: inline-block; width: 90px; height: 8px; background: #0b1015; border-radius: 4px; overflow: hidden; }
.gov-fill { position: absolute; left: 0; top: 0; bottom: 0; background: var(--busy); }
.gov-fill.full { background: var(--poisoned); }
.chart { display: flex; justify-content: center; }
.chart svg { display: block; max-width: 100%; height: auto; max-height: 620px; }
/* The charts come light (for the README); on this page they are redrawn dark, and lit by state. */
.chart { --statechart-text: #d7dee6; --statechart-dim: #8193a6; }
.chart svg.statechart .state > rect { fill: #1b242e; stroke: #4b5b6c; }
.chart svg.statechart .state.compound > rect { fill: #141b23; }
.chart svg.statechart .state.root > rect { fill: transparent; stroke: #263241; }
.chart svg.statechart .state > .title { fill: var(--text); }
.chart svg.statechart .state > .line, .chart svg.statechart .any > .line { fill: var(--dim); }
.chart svg.statechart .state > .divider, .chart svg.statechart .any > .divider { stroke: #2f3c4b; }
.chart svg.statechart .any > rect { fill: #1b242e; stroke: #4b5b6c; }
.chart svg.statechart .any > .title { fill: var(--dim); }
.chart svg.statechart .initial, .chart svg.statechart marker path { fill: #8193a6; }
.chart svg.statechart .transition > path { stroke: #5d6f82; }
.chart svg.statechart .transition > rect { fill: var(--panel); fill-opacity: 0.9; }
.chart svg.statechart .transition > text { fill: #79c0ff; }
.chart svg.statechart .state.lit > rect { fill: color-mix(in srgb, var(--lit, var(--healthy)) 28%, #1b242e); stroke: var(--lit, var(--healthy)); stroke-width: 3; }
.chart svg.statechart .state.lit > .title { fill: #fff; }
.chart svg.statechart .state.lit-parent > rect { stroke: #8193a6; stroke-width: 2; }
.chart .badge { font: 700 11px ui-monospace, monospace; fill: #0f1419; }
.chart .badge-bg { fill: var(--lit, var(--healthy)); stroke: var(--panel); stroke-width: 1.5; }
/* Timelines: the last minute of each slot and feed, one track each, coloured by state. */
.timeline { margin: 4px 0 10px; }
.track-row { display: grid; grid-template-columns: 4.5em minmax(0, 1fr); align-items: center; gap: 8px; margin: 2px 0; }
.track-name { color: var(--dim); font: 11px ui-monospace, monospace; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.track { position: relative; height: 12px; background: #0b1015; border-radius: 2px; overflow: hidden; }
.seg { position: absolute; top: 0; bottom: 0; background: var(--seg, var(--dim)); }
/* A short state is drawn at its minimum width over its neighbours, with a dark edge to tell it from them. */
.seg.short { z-index: 1; box-shadow: 0 0 0 1px #0b1015; }
/* The state before the first recorded change: how long it lasted is not known, so it is drawn faint. */
.seg.before { opacity: .35; }
.axis { display: grid; grid-template-columns: 4.5em minmax(0, 1fr); gap: 8px; color: var(--dim); font-size: 11px; }
.axis span { display: flex; justify-content: space-between; }
.timeline .note { color: var(--dim); font-size: 11px; }
/* Wide tables scroll inside their panel: the page itself never gets wider than the screen. */
.scroll { overflow-x: auto; }
#requests td.error { color: var(--poisoned); }
/* The stream ended: what is shown is the last the page heard, no longer live. */
body.gone main { filter: grayscale(1); opacity: .6; }
body.gone .chart .lit { --lit: var(--closed) !important; }
#status.gone { background: var(--closed); color: #fff; }
@media (max-width: 600px) { main { padding: 10px 8px; } .card, .panel { padding: 10px 8px; } header { padding: 10px 8px; } }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th { text-align: left; color: var(--dim); font-weight: 500; border-bottom: 1px solid var(--line); padding: 4px 8px; }
td { padding: 3px 8px; border-bottom: 1px solid #1d2631; white-space: nowrap; }
td.wrap { white-space: normal; word-break: break-word; }
td.num { text-align: right; }
.state { font-weight: 600; }
[data-state-name="healthy"] .state, .to-healthy { color: var(--healthy); }
[data-state-name="busy"] .state, .to-busy { color: var(--busy); }
[data-state-name="draining"] .state, .to-draining { color: var(--draining); }
[data-state-name="connecting"] .state, .to-connecting, [data-state-name="subscribing"] .state, .to-subscribing { color: var(--connecting); }
[data-state-name="backoff"] .state, .to-backoff { color: var(--backoff); }
[data-state-name="poisoned"] .state, .to-poisoned { color: var(--poisoned); }
[data-state-name="closing"] .state, [data-state-name="closed"] .state, .to-closing, .to-closed { color: var(--closed); }
.log-wrap { max-height: 420px; overflow-y: auto; }
#log td:first-child { color: var(--dim); }
#log tr.fresh { animation: flash 1.2s ease-out; }
@keyframes flash { from { background: #2d3b4d; } to { background: transparent; } }
.empty { color: var(--dim); padding: 8px; }
`;

/** The whole page, with the statecharts as templates the script clones. */
export function dashboardPage(charts: readonly PageChart[]): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>lifeline dashboard</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>lifeline</h1><span class="sub">live connections: slots, feeds, state changes</span><span id="status">connecting</span></header>
<main>
<section id="cards" class="cards"></section>
<section class="panel">
<h2>Slots and feeds</h2>
<div class="scroll">
<table id="actors">
<thead><tr><th>pool / feed</th><th>actor</th><th>state</th><th>time in state</th><th>attempts</th><th>last error</th><th>leases / messages</th></tr></thead>
<tbody></tbody>
</table>
</div>
</section>
<section class="panel" id="requests-panel">
<h2>Requests <span class="sub">newest first</span></h2>
<p id="requests-off" class="empty">request log off: enable it with the pool option <code>requestLog</code></p>
<div class="scroll">
<table id="requests" hidden>
<thead><tr><th>done</th><th>pool</th><th>id</th><th>slot</th><th>request</th><th>attempt</th><th>result</th><th>wait</th><th>write</th><th>server</th><th>total</th></tr></thead>
<tbody></tbody>
</table>
</div>
</section>
<section class="panel">
<h2>Event log <span class="sub">newest first, last ${LOG_ROWS}</span></h2>
<div class="log-wrap scroll">
<table id="log">
<thead><tr><th>time</th><th>actor</th><th>from &rarr; to</th><th>event</th><th>reason</th></tr></thead>
<tbody></tbody>
</table>
</div>
</section>
</main>
${charts.map((chart) => `<template id="${chart.template}">${chart.svg}</template>\n`).join('')}<noscript>The dashboard needs JavaScript: it builds itself from the live stream at /events.</noscript>
<script type="module">${DASHBOARD_SCRIPT}</script>
</body>
</html>
`;
}
