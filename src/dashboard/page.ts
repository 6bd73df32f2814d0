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
 * The statecharts come from `toSvg` as `<template>`s, one clone per pool and
 * per feed; each state is a `<g data-state="slot.healthy">`, and the
 * script lights the states the actors are in, listing slot numbers on them.
 */

/** Rows the event log keeps; the snapshot sends at most as many records. */
export const LOG_ROWS = 500;

export interface PageCharts {
  /** `toSvg(slotMachine)`. */
  slotChart: string;
  /** `toSvg(feedMachine)`. */
  feedChart: string;
}

const STYLE = `
:root { color-scheme: dark; --bg: #0f1419; --panel: #161d25; --line: #263241; --text: #d7dee6; --dim: #8193a6;
  --healthy: #3fb950; --busy: #58a6ff; --connecting: #d29922; --subscribing: #d29922; --backoff: #db6d28;
  --poisoned: #f85149; --closing: #8b949e; --closed: #6e7681; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); font: 13px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
header { display: flex; align-items: baseline; gap: 16px; padding: 12px 20px; border-bottom: 1px solid var(--line); background: var(--panel); }
header h1 { margin: 0; font-size: 17px; letter-spacing: .02em; }
header .sub, h2 .sub { color: var(--dim); font-weight: 400; margin-left: 8px; }
#status { margin-left: auto; padding: 2px 10px; border-radius: 10px; background: var(--closing); color: #000; font-weight: 600; }
#status.live { background: var(--healthy); }
#status.down { background: var(--poisoned); }
main { padding: 16px 20px; display: grid; gap: 16px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 16px; }
.card, .panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; min-width: 0; }
.card h2, .panel h2 { margin: 0 0 6px; font-size: 14px; }
.card h2 .label { color: var(--dim); font-weight: 400; margin-left: 8px; font-family: ui-monospace, monospace; }
.counters { display: flex; flex-wrap: wrap; gap: 6px 14px; margin-bottom: 8px; color: var(--dim); }
.counters b { color: var(--text); font-variant-numeric: tabular-nums; }
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
.chart .badge-bg { fill: var(--lit, var(--healthy)); }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th { text-align: left; color: var(--dim); font-weight: 500; border-bottom: 1px solid var(--line); padding: 4px 8px; }
td { padding: 3px 8px; border-bottom: 1px solid #1d2631; white-space: nowrap; }
td.wrap { white-space: normal; word-break: break-word; }
td.num { text-align: right; }
.state { font-weight: 600; }
[data-state-name="healthy"] .state, .to-healthy { color: var(--healthy); }
[data-state-name="busy"] .state, .to-busy { color: var(--busy); }
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

/**
 * The page's script, one constant so that its hash (the Content-Security-Policy
 * allows this script and no other) is computed from the exact text served.
 * Plain ES2020 for any current browser; no backquotes, so it reads as it runs.
 */
export const DASHBOARD_SCRIPT = `
(function () {
  'use strict';
  var LOG_ROWS = ${LOG_ROWS};
  var CHART_NODE = {
    pool: function (s) { return s === 'busy' ? 'slot.healthy' : 'slot.' + s; },
    feed: function (s) { return s === 'subscribing' || s === 'healthy' ? 'feed.connected.' + s : 'feed.' + s; }
  };
  var offset = 0; // this tab's clock minus the server's: times in state are the server's
  var cards = new Map();
  var rows = new Map();
  var cardsEl = document.getElementById('cards');
  var actorsEl = document.querySelector('#actors tbody');
  var logEl = document.querySelector('#log tbody');
  var statusEl = document.getElementById('status');

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var name in attrs || {}) node.setAttribute(name, attrs[name]);
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function duration(ms) {
    if (!(ms >= 0)) return '';
    if (ms < 1000) return Math.round(ms) + ' ms';
    if (ms < 60000) return (ms / 1000).toFixed(1) + ' s';
    if (ms < 3600000) return Math.floor(ms / 60000) + ' m ' + Math.floor((ms % 60000) / 1000) + ' s';
    return Math.floor(ms / 3600000) + ' h ' + Math.floor((ms % 3600000) / 60000) + ' m';
  }

  function clockTime(at) {
    var d = new Date(at);
    var pad = function (n, w) { return String(n).padStart(w || 2, '0'); };
    return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()) + '.' + pad(d.getMilliseconds(), 3);
  }

  function card(kind, id, label) {
    var article = el('article', { class: 'card', 'data-source': id, 'data-kind': kind });
    var title = el('h2', {}, id);
    title.appendChild(el('span', { class: 'label' }, label));
    article.appendChild(title);
    var counters = el('div', { class: 'counters' });
    article.appendChild(counters);
    var chart = el('div', { class: 'chart' });
    var template = document.getElementById(kind === 'pool' ? 'chart-slot' : 'chart-feed');
    chart.appendChild(template.content.cloneNode(true));
    article.appendChild(chart);
    cardsEl.appendChild(article);
    cards.set(id, { kind: kind, counters: counters, chart: chart, lit: '' });
  }

  function build(view) {
    cardsEl.textContent = '';
    actorsEl.textContent = '';
    cards.clear();
    rows.clear();
    view.pools.forEach(function (pool) { card('pool', pool.id, pool.origin); });
    view.feeds.forEach(function (feed) { card('feed', feed.id, feed.url); });
    if (!view.pools.length && !view.feeds.length) cardsEl.appendChild(el('p', { class: 'empty' }, 'No pools or feeds to show.'));
  }

  function counters(target, pairs, recording) {
    target.textContent = '';
    pairs.forEach(function (pair) {
      var item = el('span', {}, pair[0] + ' ');
      item.appendChild(el('b', {}, pair[1]));
      target.appendChild(item);
    });
    if (!recording) target.appendChild(el('span', {}, 'recording off'));
  }

  function badge(group, text) {
    var box = group.querySelector(':scope > rect') || group;
    var b = box.getBBox();
    var ns = 'http://www.w3.org/2000/svg';
    var width = 10 + text.length * 7;
    var bg = document.createElementNS(ns, 'rect');
    bg.setAttribute('class', 'badge-bg');
    bg.setAttribute('x', String(b.x + b.width - width + 4));
    bg.setAttribute('y', String(b.y - 8));
    bg.setAttribute('width', String(width));
    bg.setAttribute('height', '16');
    bg.setAttribute('rx', '8');
    var label = document.createElementNS(ns, 'text');
    label.setAttribute('class', 'badge');
    label.setAttribute('x', String(b.x + b.width - width / 2 + 4));
    label.setAttribute('y', String(b.y + 4));
    label.setAttribute('text-anchor', 'middle');
    label.textContent = text;
    var holder = document.createElementNS(ns, 'g');
    holder.setAttribute('class', 'badges');
    holder.appendChild(bg);
    holder.appendChild(label);
    group.appendChild(holder);
  }

  // Lights the chart node of every actor's state; for a pool, each lit state lists its slot numbers.
  function light(entry, actors) {
    var byNode = new Map();
    actors.forEach(function (actor) {
      var node = CHART_NODE[entry.kind](actor.state);
      if (!byNode.has(node)) byNode.set(node, { state: actor.state, names: [] });
      byNode.get(node).names.push(actor.actor.replace('slot ', ''));
    });
    var key = JSON.stringify(Array.from(byNode));
    if (key === entry.lit) return;
    entry.lit = key;
    entry.chart.querySelectorAll('.lit, .lit-parent').forEach(function (n) {
      n.classList.remove('lit', 'lit-parent');
      n.style.removeProperty('--lit');
    });
    entry.chart.querySelectorAll('.badges').forEach(function (n) { n.remove(); });
    byNode.forEach(function (lit, node) {
      var group = entry.chart.querySelector('[data-state="' + CSS.escape(node) + '"]');
      if (!group) return;
      group.classList.add('lit');
      group.style.setProperty('--lit', 'var(--' + lit.state + ')');
      var parts = node.split('.');
      for (var i = parts.length - 1; i > 1; i--) {
        var parent = entry.chart.querySelector('[data-state="' + CSS.escape(parts.slice(0, i).join('.')) + '"]');
        if (parent) parent.classList.add('lit-parent');
      }
      badge(group, entry.kind === 'pool' ? lit.names.join(',') : 'live');
    });
  }

  function row(source, actor) {
    var key = source + '/' + actor.actor;
    var tr = rows.get(key);
    if (!tr) {
      tr = el('tr', { 'data-source': source, 'data-actor': actor.actor });
      ['source', 'actor', 'state', 'age num', 'attempts num', 'error wrap', 'served num'].forEach(function (c) {
        tr.appendChild(el('td', { class: c }));
      });
      tr.children[0].textContent = source;
      actorsEl.appendChild(tr);
      rows.set(key, tr);
    }
    // A slot of a pool with several origins names the one it is on (it can move).
    tr.children[1].textContent = actor.origin ? actor.actor + ' @ ' + actor.origin : actor.actor;
    tr.setAttribute('data-state-name', actor.state);
    if (actor.since !== undefined) tr.setAttribute('data-since', String(actor.since));
    else tr.removeAttribute('data-since');
    tr.children[2].textContent = actor.state;
    tr.children[4].textContent = String(actor.attempts);
    tr.children[5].textContent = actor.lastError || '';
    tr.children[6].textContent = actor.served === undefined ? '' : String(actor.served);
  }

  function ages() {
    var now = Date.now() - offset;
    rows.forEach(function (tr) {
      var since = tr.getAttribute('data-since');
      tr.children[3].textContent = since === null ? '' : duration(now - Number(since));
    });
  }

  function update(view) {
    offset = Date.now() - view.now;
    view.pools.forEach(function (pool) {
      var entry = cards.get(pool.id);
      var s = pool.stats;
      counters(entry.counters, [['connections', s.connections], ['healthy', s.healthy], ['busy', s.busy],
        ['connecting', s.connecting], ['backoff', s.backoff], ['poisoned', s.poisoned], ['closed', s.closed],
        ['waiting', s.waiting]], pool.recording);
      light(entry, pool.slots);
      pool.slots.forEach(function (slot) { row(pool.id, slot); });
    });
    view.feeds.forEach(function (feed) {
      var entry = cards.get(feed.id);
      var s = feed.stats;
      counters(entry.counters, [['state', s.state], ['messages', s.messages], ['dropped', s.dropped],
        ['connections', s.connections], ['attempts', s.attempts], ['subscriptions', s.subscriptions]], feed.recording);
      light(entry, [feed.summary]);
      row(feed.id, feed.summary);
    });
    ages();
  }

  function record(r, fresh) {
    var tr = el('tr', { 'data-source': r.source, 'data-actor': r.actor, 'data-to': r.to, class: fresh ? 'fresh' : '' });
    tr.appendChild(el('td', {}, clockTime(r.at)));
    tr.appendChild(el('td', {}, r.source + ' / ' + r.actor));
    var change = el('td', {});
    change.appendChild(el('span', { class: 'to-' + r.from }, r.from));
    change.appendChild(document.createTextNode(' \\u2192 '));
    change.appendChild(el('span', { class: 'to-' + r.to }, r.to));
    tr.appendChild(change);
    tr.appendChild(el('td', {}, r.event));
    tr.appendChild(el('td', { class: 'wrap' }, r.reason || ''));
    logEl.insertBefore(tr, logEl.firstChild);
    while (logEl.children.length > LOG_ROWS) logEl.lastChild.remove();
  }

  function connect() {
    var source = new EventSource('events');
    source.addEventListener('snapshot', function (e) {
      var view = JSON.parse(e.data);
      build(view);
      update(view);
      logEl.textContent = '';
      view.history.forEach(function (r) { record(r, false); });
      statusEl.textContent = 'live';
      statusEl.className = 'live';
    });
    source.addEventListener('stats', function (e) { update(JSON.parse(e.data)); });
    source.addEventListener('record', function (e) { record(JSON.parse(e.data), true); });
    // EventSource reconnects by itself; the next snapshot rebuilds the page.
    source.addEventListener('error', function () {
      statusEl.textContent = 'reconnecting';
      statusEl.className = 'down';
    });
  }

  setInterval(ages, 250);
  connect();
})();
`;

/** The whole page, with the two statecharts as templates the script clones. */
export function dashboardPage(charts: PageCharts): string {
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
<table id="actors">
<thead><tr><th>pool / feed</th><th>actor</th><th>state</th><th>time in state</th><th>attempts</th><th>last error</th><th>leases / messages</th></tr></thead>
<tbody></tbody>
</table>
</section>
<section class="panel">
<h2>Event log <span class="sub">newest first, last ${LOG_ROWS}</span></h2>
<div class="log-wrap">
<table id="log">
<thead><tr><th>time</th><th>actor</th><th>from &rarr; to</th><th>event</th><th>reason</th></tr></thead>
<tbody></tbody>
</table>
</div>
</section>
</main>
<template id="chart-slot">${charts.slotChart}</template>
<template id="chart-feed">${charts.feedChart}</template>
<noscript>The dashboard needs JavaScript: it builds itself from the live stream at /events.</noscript>
<script>${DASHBOARD_SCRIPT}</script>
</body>
</html>
`;
}
