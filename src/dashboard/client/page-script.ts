/**
 * The dashboard page's script, run by the browser. Type-checked against the DOM
 * by its own tsconfig (./tsconfig.json, part of `npm run typecheck`), never
 * imported by the library: `npm run visualize` strips its types and writes the
 * text to src/dashboard/script.ts, which the page inlines, allowed by its hash.
 *
 * It may import types only (the inlined script is one file, with no loader).
 * It knows nothing of the machines: the snapshot says which states their actors
 * report and which chart node each one lights (src/dashboard/machines.ts).
 * Every value from the stream goes in the DOM as text (`textContent`), never as
 * markup: an error message is whatever a server sent.
 */
import type { ActorView, PageEvents, PageFeed, PageMachine, PageMachines, PagePool, PageRecord, PageSnapshot, PageState, PageView } from '../protocol.js';

interface Card {
  /** The states of the card's machine, by the name actors report. */
  states: ReadonlyMap<string, PageState>;
  counters: HTMLElement;
  chart: HTMLElement;
  /** What is lit now, so an unchanged view redraws nothing. */
  lit: string;
}

/** An actor on a chart: its state, and its badge (a slot's number). */
interface Lit {
  state: string;
  label: string;
}

/** The cells of an actor's row in the table. */
interface Row {
  tr: HTMLTableRowElement;
  actor: HTMLTableCellElement;
  state: HTMLTableCellElement;
  age: HTMLTableCellElement;
  attempts: HTMLTableCellElement;
  error: HTMLTableCellElement;
  served: HTMLTableCellElement;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** The page's element that `selector` names; the page is served with all of them. */
function find<T extends Element>(selector: string): T {
  const found = document.querySelector<T>(selector);
  if (!found) throw new Error(`the page has no ${selector}`);
  return found;
}

const cardsEl = find<HTMLElement>('#cards');
const actorsEl = find<HTMLTableSectionElement>('#actors tbody');
const logEl = find<HTMLTableSectionElement>('#log tbody');
const statusEl = find<HTMLElement>('#status');

/** This tab's clock minus the server's: times in state are the server's. */
let offset = 0;
/** Rows the event log keeps: the server says how many. */
let logRows = 0;
const cards = new Map<string, Card>();
const rows = new Map<string, Row>();

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string | number): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function duration(ms: number): string {
  if (!(ms >= 0)) return '';
  if (ms < 1000) return Math.round(ms) + ' ms';
  if (ms < 60000) return (ms / 1000).toFixed(1) + ' s';
  if (ms < 3600000) return Math.floor(ms / 60000) + ' m ' + Math.floor((ms % 60000) / 1000) + ' s';
  return Math.floor(ms / 3600000) + ' h ' + Math.floor((ms % 3600000) / 60000) + ' m';
}

function clockTime(at: number): string {
  const d = new Date(at);
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()) + '.' + pad(d.getMilliseconds(), 3);
}

function card(kind: keyof PageMachines, machine: PageMachine, id: string, label: string): void {
  const article = el('article', { class: 'card', 'data-source': id, 'data-kind': kind });
  const title = el('h2', {}, id);
  title.appendChild(el('span', { class: 'label' }, label));
  article.appendChild(title);
  const counters = el('div', { class: 'counters' });
  article.appendChild(counters);
  const chart = el('div', { class: 'chart' });
  const template = find<HTMLTemplateElement>('#' + CSS.escape(machine.chart));
  chart.appendChild(template.content.cloneNode(true));
  article.appendChild(chart);
  cardsEl.appendChild(article);
  const states = new Map(machine.states.map((state) => [state.name, state]));
  cards.set(id, { states, counters, chart, lit: '' });
}

function build(view: PageSnapshot): void {
  cardsEl.textContent = '';
  actorsEl.textContent = '';
  cards.clear();
  rows.clear();
  for (const pool of view.pools) card('pool', view.machines.pool, pool.id, pool.origin);
  for (const feed of view.feeds) card('feed', view.machines.feed, feed.id, feed.url);
  if (!view.pools.length && !view.feeds.length) cardsEl.appendChild(el('p', { class: 'empty' }, 'No pools or feeds to show.'));
}

function counters(target: HTMLElement, pairs: [string, string | number][], recording: boolean): void {
  target.textContent = '';
  for (const [name, value] of pairs) {
    const item = el('span', {}, name + ' ');
    item.appendChild(el('b', {}, value));
    target.appendChild(item);
  }
  if (!recording) target.appendChild(el('span', {}, 'recording off'));
}

function badge(group: SVGGElement, text: string): void {
  const box = group.querySelector<SVGGraphicsElement>(':scope > rect') ?? group;
  const b = box.getBBox();
  const width = 10 + text.length * 7;
  const bg = document.createElementNS(SVG_NS, 'rect');
  bg.setAttribute('class', 'badge-bg');
  bg.setAttribute('x', String(b.x + b.width - width + 4));
  bg.setAttribute('y', String(b.y - 8));
  bg.setAttribute('width', String(width));
  bg.setAttribute('height', '16');
  bg.setAttribute('rx', '8');
  const label = document.createElementNS(SVG_NS, 'text');
  label.setAttribute('class', 'badge');
  label.setAttribute('x', String(b.x + b.width - width / 2 + 4));
  label.setAttribute('y', String(b.y + 4));
  label.setAttribute('text-anchor', 'middle');
  label.textContent = text;
  const holder = document.createElementNS(SVG_NS, 'g');
  holder.setAttribute('class', 'badges');
  holder.appendChild(bg);
  holder.appendChild(label);
  group.appendChild(holder);
}

/** Lights the chart node of every actor's state, badged with the labels of the actors on it. */
function light(entry: Card, actors: Lit[]): void {
  const byNode = new Map<string, { state: string; parents: string[]; labels: string[] }>();
  for (const actor of actors) {
    const state = entry.states.get(actor.state);
    if (!state) continue; // a state the server did not name has no node to light
    let lit = byNode.get(state.node);
    if (!lit) byNode.set(state.node, (lit = { state: actor.state, parents: state.parents, labels: [] }));
    lit.labels.push(actor.label);
  }
  const key = JSON.stringify(Array.from(byNode));
  if (key === entry.lit) return;
  entry.lit = key;
  for (const n of entry.chart.querySelectorAll<SVGElement>('.lit, .lit-parent')) {
    n.classList.remove('lit', 'lit-parent');
    n.style.removeProperty('--lit');
  }
  for (const n of entry.chart.querySelectorAll('.badges')) n.remove();
  for (const [node, lit] of byNode) {
    const group = entry.chart.querySelector<SVGGElement>('[data-state="' + CSS.escape(node) + '"]');
    if (!group) continue;
    group.classList.add('lit');
    group.style.setProperty('--lit', 'var(--' + lit.state + ')');
    for (const parent of lit.parents) entry.chart.querySelector('[data-state="' + CSS.escape(parent) + '"]')?.classList.add('lit-parent');
    badge(group, lit.labels.join(','));
  }
}

function row(source: string, actor: ActorView): void {
  const key = source + '/' + actor.actor;
  let cells = rows.get(key);
  if (!cells) {
    const tr = el('tr', { 'data-source': source, 'data-actor': actor.actor });
    const cell = (name: string) => tr.appendChild(el('td', { class: name }));
    cell('source').textContent = source;
    cells = {
      tr,
      actor: cell('actor'),
      state: cell('state'),
      age: cell('age num'),
      attempts: cell('attempts num'),
      error: cell('error wrap'),
      served: cell('served num'),
    };
    actorsEl.appendChild(tr);
    rows.set(key, cells);
  }
  // A slot of a pool with several origins names the one it is on (it can move).
  cells.actor.textContent = actor.origin ? actor.actor + ' @ ' + actor.origin : actor.actor;
  cells.tr.setAttribute('data-state-name', actor.state);
  if (actor.since !== undefined) cells.tr.setAttribute('data-since', String(actor.since));
  else cells.tr.removeAttribute('data-since');
  cells.state.textContent = actor.state;
  cells.attempts.textContent = String(actor.attempts);
  cells.error.textContent = actor.lastError || '';
  cells.served.textContent = actor.served === undefined ? '' : String(actor.served);
}

function ages(): void {
  const now = Date.now() - offset;
  for (const cells of rows.values()) {
    const since = cells.tr.getAttribute('data-since');
    cells.age.textContent = since === null ? '' : duration(now - Number(since));
  }
}

function updatePool(pool: PagePool, entry: Card): void {
  const s = pool.stats;
  // The count of slots in each state of the machine, in the order the stats list them.
  const stats: [string, unknown][] = Object.entries(s);
  const byState = stats.filter(([name]) => entry.states.has(name)).map(([name, count]): [string, string] => [name, String(count)]);
  counters(entry.counters, [['connections', s.connections], ...byState, ['waiting', s.waiting]], pool.recording);
  light(entry, pool.slots.map((slot, index) => ({ state: slot.state, label: String(index) })));
  for (const slot of pool.slots) row(pool.id, slot);
}

function updateFeed(feed: PageFeed, entry: Card): void {
  const s = feed.stats;
  counters(entry.counters, [['state', s.state], ['messages', s.messages], ['dropped', s.dropped],
    ['connections', s.connections], ['attempts', s.attempts], ['subscriptions', s.subscriptions]], feed.recording);
  light(entry, [{ state: feed.summary.state, label: 'live' }]);
  row(feed.id, feed.summary);
}

function update(view: PageView): void {
  offset = Date.now() - view.now;
  for (const pool of view.pools) {
    const entry = cards.get(pool.id);
    if (entry) updatePool(pool, entry);
  }
  for (const feed of view.feeds) {
    const entry = cards.get(feed.id);
    if (entry) updateFeed(feed, entry);
  }
  ages();
}

function record(r: PageRecord, fresh: boolean): void {
  const tr = el('tr', { 'data-source': r.source, 'data-actor': r.actor, 'data-to': r.to, class: fresh ? 'fresh' : '' });
  tr.appendChild(el('td', {}, clockTime(r.at)));
  tr.appendChild(el('td', {}, r.source + ' / ' + r.actor));
  const change = el('td', {});
  change.appendChild(el('span', { class: 'to-' + r.from }, r.from));
  change.appendChild(document.createTextNode(' \u2192 '));
  change.appendChild(el('span', { class: 'to-' + r.to }, r.to));
  tr.appendChild(change);
  tr.appendChild(el('td', {}, r.event));
  tr.appendChild(el('td', { class: 'wrap' }, r.reason || ''));
  logEl.insertBefore(tr, logEl.firstChild);
  while (logEl.children.length > logRows) logEl.lastElementChild?.remove();
}

/** Calls `handle` with each `name` event of `source`, its data parsed as the server sent it. */
function on<E extends keyof PageEvents>(source: EventSource, name: E, handle: (data: PageEvents[E]) => void): void {
  source.addEventListener(name, (e) => handle(JSON.parse((e as MessageEvent<string>).data) as PageEvents[E]));
}

function snapshot(view: PageSnapshot): void {
  logRows = view.logRows;
  build(view);
  update(view);
  logEl.textContent = '';
  for (const r of view.history) record(r, false);
  statusEl.textContent = 'live';
  statusEl.className = 'live';
}

function connect(): void {
  const source = new EventSource('events');
  on(source, 'snapshot', snapshot);
  on(source, 'stats', update);
  on(source, 'record', (r) => record(r, true));
  // EventSource reconnects by itself; the next snapshot rebuilds the page.
  source.addEventListener('error', () => {
    statusEl.textContent = 'reconnecting';
    statusEl.className = 'down';
  });
}

setInterval(ages, 250);
connect();
