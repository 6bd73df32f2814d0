/**
 * Case: the normal life of connections (issue 14). Real servers that do nothing wrong end connections
 * all the time: nginx's `keepalive_requests` (Connection: close on the Nth response), python3's
 * http.server (HTTP/1.0: a close after every response), idle timeouts announced (`Keep-Alive:
 * timeout=1`) or silent, graceful reloads, a FIN right after a response (an exiting worker), every
 * idle connection closed at once. lifeline's ClientPool against undici's Pool, each client alone,
 * default options but the connection count (4; 16 for the drop), 16 callers where there is load:
 *
 *   a. nginx `keepalive_requests 10;`                    req/s, failed, max latency
 *   b. python3 -m http.server (HTTP/1.0)                 req/s, failed, max latency
 *   c. nginx `keepalive_timeout 1s 1s;`, sparse callers  failed, max latency
 *   d. nginx defaults under load, reloaded every 3 s     req/s, failed, share of time lifeline's pool was not all up
 *   e. FIN right after every 50th response, GET / POST   lost requests, req/s
 *   f. nginx reloaded every 2 s under load, GETs         lost requests
 *   g. 16 idle connections all closed, then a request    time to its response (median, p90)
 *   h. nginx `keepalive_timeout 1s;` (silent), POSTs     lost requests
 *   i. a FIN right after every response                  CPU per request, that is per replacement
 *
 * Sparse callers (c, h): 4 callers on one client, each request 0.9-1.1 s after the previous one
 * (seeded: both clients see the same gaps); both clients run at once, each against its own nginx.
 * Every wait is bounded: a request still pending well after its round counts as failed, and a client
 * that does badly costs the run time, never the run. A missing server (nginx, python3) skips its rows.
 */
import { Pool } from 'undici';
import { ClientPool } from '../../src/index.js';
import { available, startNginx, startPythonHttpServer, type RealServer } from '../../test/peers/real-servers.js';
import { addTally, drive, failureReason, newTally, rateOf, tallyFigures, type Drive, type Tally } from '../lib/callers.js';
import type { BenchCase, CaseContext } from '../lib/case.js';
import { compareRates, rateColumns, rateRow, ratioOf } from '../lib/compare.js';
import { listenFinServer, startFinServerProcess } from '../lib/fin-server.js';
import { alternate } from '../lib/rounds.js';
import { percentile, summarize } from '../lib/stats.js';
import type { Column, Row } from '../lib/table.js';
import { sleep, waitUntil, within } from '../lib/wait.js';

const LIFELINE = 'lifeline ClientPool';
const UNDICI = 'undici Pool';
const CONNECTIONS = 4;
const CALLERS = 16;
const SPARSE_CALLERS = 4;
const DROP_CONNECTIONS = 16;
/** The FIN server ends each connection after this many responses. */
const FIN_EVERY = 50;
/** A small order-sized POST body. */
const POST_BODY = Buffer.from(JSON.stringify({ symbol: 'BTCUSDT', side: 'BUY', type: 'LIMIT', price: '64000.12', quantity: '0.015' }));
/** How long a client's close() may take before the case moves on (lifeline's drainTimeout is 5 s). */
const CLOSE_BOUND = 8_000;
/** How long the drop's request, and the pool being ready before it, may take. */
const DROP_BOUND = 5_000;
/** How often the pool's slots are sampled for "not all up". */
const SAMPLE_MS = 5;

type Method = 'GET' | 'POST';

interface Client {
  send(method: Method): Promise<void>;
  /** Whether every connection is up (lifeline's slots healthy or busy); undefined when the client cannot say. */
  allUp(): boolean | undefined;
  close(): Promise<void>;
}

interface Contender {
  name: string;
  open(url: string, connections: number): Promise<Client>;
}

class HttpStatusError extends Error {
  readonly code: string;
  constructor(status: number) {
    super(`HTTP ${status}`);
    this.code = `HTTP_${status}`;
  }
}

function expectOk(status: number): void {
  if (status < 200 || status > 299) throw new HttpStatusError(status);
}

const requestFor = (method: Method) => (method === 'GET' ? { method, path: '/' } : { method, path: '/post', body: POST_BODY });

const CONTENDERS: Contender[] = [
  {
    name: LIFELINE,
    async open(url, connections) {
      const pool = await ClientPool.connect({ url, connections });
      return {
        async send(method) {
          expectOk((await pool.request(requestFor(method))).status);
        },
        allUp() {
          const stats = pool.stats();
          return stats.healthy + stats.busy === stats.connections;
        },
        close: () => pool.close(),
      };
    },
  },
  {
    name: UNDICI,
    async open(url, connections) {
      const pool = new Pool(url, { connections });
      return {
        async send(method) {
          const res = await pool.request(requestFor(method));
          await res.body.text();
          expectOk(res.statusCode);
        },
        allUp: () => undefined,
        close: () => pool.close(),
      };
    },
  },
];

interface Plan {
  /** Recorded rounds of a throughput row per contender (after a warm-up pass). */
  rounds: number;
  roundMs: number;
  sparseMs: number;
  /** Row d: reload every 3 s for this long. */
  reload3Ms: number;
  /** Row f: reload every 2 s for this long. */
  reload2Ms: number;
  dropRounds: number;
  /** Row i: requests per round, each on a connection of its own. */
  replacements: number;
  /** How long a request may still run after its round (lifeline's acquire timeout is 5 s). */
  grace: number;
}

function planFor(quick: boolean): Plan {
  return quick
    ? { rounds: 1, roundMs: 500, sparseMs: 3_000, reload3Ms: 3_500, reload2Ms: 2_500, dropRounds: 3, replacements: 1_000, grace: 1_000 }
    : { rounds: 5, roundMs: 2_000, sparseMs: 15_000, reload3Ms: 12_000, reload2Ms: 10_000, dropRounds: 20, replacements: 10_000, grace: 6_000 };
}

/** Opens a client, runs `body` with it, and closes it within CLOSE_BOUND whatever happened. */
async function withClient<T>(contender: Contender, url: string, connections: number, body: (client: Client) => Promise<T>): Promise<T> {
  const client = await contender.open(url, connections);
  try {
    return await body(client);
  } finally {
    await within(client.close(), CLOSE_BOUND);
  }
}

const load = (plan: Plan, durationMs: number): Drive => ({ callers: CALLERS, durationMs, grace: plan.grace });

// ---- the figures, and the targets they are judged by ----

interface Outcome {
  contender: string;
  tally: Tally;
  /** Completed requests per second, per round. */
  rates: number[];
  extra?: Row;
}

const FAILURE_COLUMNS: Column[] = [
  { key: 'requests', label: 'requests', format: 'int' },
  { key: 'failed', label: 'failed', format: 'int' },
  { key: 'maxMs', label: 'max ms', format: 'num' },
];
const WHY: Column = { key: 'why', label: 'why', format: 'text' };

/** A throughput table: req/s (median, min, max over rounds) and its ratio to undici, failures, max latency. */
function rateTable(context: CaseContext, title: string, note: string, outcomes: Outcome[], extra: Column[] = []): void {
  const compared = compareRates(new Map(outcomes.map((o) => [o.contender, o.rates])), UNDICI);
  context.table({
    title,
    note,
    columns: [...rateColumns('client', 'req/s'), ...FAILURE_COLUMNS, ...extra, WHY],
    rows: outcomes.map((o, i) => ({ ...rateRow(compared[i]!), ...tallyFigures(o.tally), ...o.extra })),
  });
}

/** A table without rates (sparse callers): failures and latencies. */
function failureTable(context: CaseContext, title: string, note: string, outcomes: Outcome[]): void {
  context.table({
    title,
    note,
    columns: [
      { key: 'contender', label: 'client', format: 'text' },
      ...FAILURE_COLUMNS,
      { key: 'p50', label: 'p50 ms', format: 'num' },
      WHY,
    ],
    rows: outcomes.map((o) => ({ contender: o.contender, ...tallyFigures(o.tally) })),
  });
}

function outcomeOf(outcomes: Outcome[], name: string): Outcome {
  const found = outcomes.find((o) => o.contender === name);
  if (!found) throw new Error(`bench: no outcome for ${name}`);
  return found;
}

/** The bar on failures: none where undici has none, fewer where it has any. */
function failureTarget(context: CaseContext, row: string, outcomes: Outcome[]): void {
  const ours = outcomeOf(outcomes, LIFELINE).tally;
  const theirs = outcomeOf(outcomes, UNDICI).tally;
  context.target({
    name: `lifecycle ${row}: failed requests`,
    goal: '0 where undici has 0, fewer where it has any',
    measured: `lifeline ${ours.failed} of ${ours.requests}, undici ${theirs.failed} of ${theirs.requests}`,
    pass: ours.requests > 0 && (theirs.failed === 0 ? ours.failed === 0 : ours.failed < theirs.failed),
  });
}

function rateTarget(context: CaseContext, row: string, outcomes: Outcome[], bar: number): void {
  const ratio = ratioOf(compareRates(new Map(outcomes.map((o) => [o.contender, o.rates])), UNDICI), LIFELINE);
  context.target({
    name: `lifecycle ${row}: req/s`,
    goal: `>= ${bar.toFixed(2)}x undici Pool`,
    measured: `${ratio.toFixed(2)}x`,
    pass: ratio >= bar,
  });
}

// ---- the scenarios ----

/** Closed-loop rounds, the contenders alternating, each alone against `url`. */
async function throughput(plan: Plan, url: string, method: Method): Promise<Outcome[]> {
  const samples = await alternate(CONTENDERS, plan.rounds, (contender) =>
    withClient(contender, url, CONNECTIONS, (client) => drive(() => client.send(method), load(plan, plan.roundMs))),
  );
  return [...samples].map(([contender, tallies]) => {
    const tally = newTally();
    for (const t of tallies) addTally(tally, t);
    return { contender, tally, rates: tallies.map(rateOf) };
  });
}

/**
 * Load on a fresh nginx, reloaded every `everyMs` during each contender's round (one round each, the
 * contenders one after the other), while lifeline's slots are sampled.
 */
async function underReloads(plan: Plan, everyMs: number, durationMs: number): Promise<Outcome[]> {
  const nginx = await startNginx();
  try {
    const outcomes: Outcome[] = [];
    for (const contender of CONTENDERS) {
      outcomes.push(
        await withClient(contender, nginx.url, CONNECTIONS, async (client) => {
          let samples = 0;
          let down = 0;
          const sampler = setInterval(() => {
            const up = client.allUp();
            if (up === undefined) return;
            samples++;
            if (!up) down++;
          }, SAMPLE_MS);
          const start = performance.now();
          const reloadsBefore = nginx.reloads;
          let reloadErrors = 0;
          const reloader = (async () => {
            for (let k = 1; start + k * everyMs < start + durationMs; k++) {
              await sleep(Math.max(0, start + k * everyMs - performance.now()));
              await nginx.reload().catch(() => reloadErrors++);
            }
          })();
          try {
            const tally = await drive(() => client.send('GET'), load(plan, durationMs));
            await within(reloader, 15_000);
            return {
              contender: contender.name,
              tally,
              rates: [rateOf(tally)],
              extra: {
                reloads: nginx.reloads - reloadsBefore,
                reloadErrors,
                notUp: samples > 0 ? (100 * down) / samples : Number.NaN,
              },
            };
          } finally {
            clearInterval(sampler);
          }
        }),
      );
    }
    return outcomes;
  } finally {
    await nginx.stop();
  }
}

/** Both contenders at once, each with its own nginx (`config`), sparse callers. */
async function sparse(plan: Plan, config: string, method: Method): Promise<Outcome[]> {
  const servers: RealServer[] = [];
  try {
    for (let i = 0; i < CONTENDERS.length; i++) servers.push(await startNginx({ config }));
    const tallies = await Promise.all(
      CONTENDERS.map((contender, i) =>
        withClient(contender, servers[i]!.url, CONNECTIONS, (client) =>
          drive(() => client.send(method), {
            callers: SPARSE_CALLERS,
            durationMs: plan.sparseMs,
            gap: (random) => 900 + 200 * random(),
            grace: plan.grace,
          }),
        ),
      ),
    );
    return CONTENDERS.map((contender, i) => ({ contender: contender.name, tally: tallies[i]!, rates: [] }));
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
  }
}

interface DropRound {
  /** ms from the close of every connection to the request's response; NaN when it failed. */
  first: number;
  failure: string | undefined;
}

/**
 * Row g: a fresh client with 16 connections that have all served a request, every one of them closed
 * by the server at once (a FIN each, as a graceful close), and a request 1 ms later (the FINs have
 * reached the client's host). Timed from the close. The server runs in this process: one clock.
 */
async function drops(plan: Plan): Promise<Map<string, DropRound[]>> {
  const server = await listenFinServer();
  try {
    return await alternate(CONTENDERS, plan.dropRounds, (contender) => {
      const before = server.connections;
      return withClient(contender, server.url, DROP_CONNECTIONS, async (client): Promise<DropRound> => {
        try {
          await Promise.all(Array.from({ length: DROP_CONNECTIONS }, () => client.send('GET')));
          await waitUntil(() => server.connections - before >= DROP_CONNECTIONS, DROP_BOUND, 'every connection to open');
        } catch (error) {
          return { first: Number.NaN, failure: `not ready: ${failureReason(error)}` };
        }
        await sleep(10);
        const t0 = performance.now();
        server.endAll();
        await sleep(1);
        let result: DropRound = { first: Number.NaN, failure: 'UNFINISHED' };
        await within(
          client.send('GET').then(
            () => (result = { first: performance.now() - t0, failure: undefined }),
            (error: unknown) => (result = { first: Number.NaN, failure: failureReason(error) }),
          ),
          DROP_BOUND,
        );
        return result;
      });
    });
  } finally {
    await server.close();
  }
}

function dropTable(context: CaseContext, plan: Plan, results: Map<string, DropRound[]>): void {
  const rows = [...results].map(([contender, rounds]) => {
    const answered = rounds.map((r) => r.first).filter((x) => !Number.isNaN(x));
    const sorted = [...answered].sort((a, b) => a - b);
    const failures = rounds.flatMap((r) => (r.failure === undefined ? [] : [r.failure]));
    const reasons = new Map<string, number>();
    for (const f of failures) reasons.set(f, (reasons.get(f) ?? 0) + 1);
    return {
      contender,
      connections: DROP_CONNECTIONS,
      median: summarize(answered.length > 0 ? answered : [Number.NaN]).median,
      p90: percentile(sorted, 90),
      max: sorted.length > 0 ? sorted[sorted.length - 1]! : Number.NaN,
      failed: failures.length,
      why: [...reasons].map(([reason, n]) => `${reason} ${n}`).join(', ') || '-',
      samples: rounds.map((r) => r.first),
    };
  });
  context.table({
    title: 'g. 16 idle connections all closed by the server at once (FIN), a request 1 ms later',
    note: `Time from the close to that request's response; ${plan.dropRounds} round(s) per client, a fresh client each, every connection having served a request. Goal: lifeline's median <= 1.5x undici's.`,
    columns: [
      { key: 'contender', label: 'client', format: 'text' },
      { key: 'connections', label: 'conn', format: 'int' },
      { key: 'median', label: 'response ms median', format: 'num' },
      { key: 'p90', label: 'p90', format: 'num' },
      { key: 'max', label: 'max', format: 'num' },
      { key: 'failed', label: `failed (of ${plan.dropRounds})`, format: 'int' },
      WHY,
    ],
    rows,
  });
  const ours = rows.find((r) => r.contender === LIFELINE)!;
  const theirs = rows.find((r) => r.contender === UNDICI)!;
  context.target({
    name: 'lifecycle g. first response after a 16-connection idle drop',
    goal: "<= 1.50x undici Pool's median, none failed",
    measured: `${(ours.median / theirs.median).toFixed(2)}x (${ours.median.toFixed(2)} ms against ${theirs.median.toFixed(2)} ms), ${ours.failed} failed`,
    pass: ours.median <= 1.5 * theirs.median && ours.failed === 0,
  });
}

function skipped(what: string): void {
  console.log(`\n(skipped: ${what} is not installed)`);
}

const LOAD_NOTE = `each client alone, ${CONNECTIONS} connections, default options, ${CALLERS} callers in a closed loop`;

const roundsNote = (plan: Plan) => `${plan.rounds} round(s) of ${plan.roundMs / 1e3} s per client after a warm-up pass, alternating`;

/** Rows a and b: GETs in closed-loop rounds against a real server started for the row; judged on req/s and failures. */
async function closedLoopRow(
  context: CaseContext,
  plan: Plan,
  start: () => Promise<RealServer>,
  row: { title: string; target: string; bar: number },
): Promise<void> {
  const server = await start();
  try {
    const outcomes = await throughput(plan, server.url, 'GET');
    rateTable(context, row.title, `${LOAD_NOTE}; ${roundsNote(plan)}. Goal: >= ${row.bar.toFixed(2)}x undici's req/s, no more failures.`, outcomes);
    rateTarget(context, row.target, outcomes, row.bar);
    failureTarget(context, row.target, outcomes);
  } finally {
    await server.stop();
  }
}

export const lifecycleCase: BenchCase = {
  name: 'lifecycle',
  title: 'The normal life of connections: real servers ending connections on purpose',
  async run(context) {
    const plan = planFor(context.settings.quick);
    // LIFECYCLE_ROWS=a,g runs only those rows: for exploring one figure, never for BENCHMARKS.md.
    const rows = new Set((process.env.LIFECYCLE_ROWS ?? 'abcdefghi').split(/[\s,]*/).filter(Boolean));
    const row = (letter: string) => rows.has(letter);
    const hasNginx = available('nginx');
    const reloadColumns: Column[] = [
      { key: 'reloads', label: 'reloads', format: 'int' },
      { key: 'notUp', label: 'not all up %', format: 'num' },
    ];

    if (hasNginx && row('a')) {
      await closedLoopRow(context, plan, () => startNginx({ config: 'keepalive_requests 10;' }), {
        title: 'a. nginx `keepalive_requests 10;` (Connection: close on every 10th response)',
        target: 'a. nginx keepalive_requests 10',
        bar: 0.8,
      });
    } else if (!hasNginx) skipped('nginx');

    if (available('python') && row('b')) {
      await closedLoopRow(context, plan, () => startPythonHttpServer(), {
        title: 'b. python3 -m http.server --protocol HTTP/1.0 (a close after every response)',
        target: 'b. python3 http.server',
        bar: 0.5,
      });
    } else if (!available('python')) skipped('python3');

    if (hasNginx && (row('c') || row('h'))) {
      const sparseNote = `${SPARSE_CALLERS} callers on one client (${CONNECTIONS} connections, default options), each request 0.9-1.1 s after the previous one, ${plan.sparseMs / 1e3} s; both clients at once, each against its own nginx. Max ms includes failed requests.`;
      const [announced, silent] = await Promise.all([
        sparse(plan, 'keepalive_timeout 1s 1s;', 'GET'),
        sparse(plan, 'keepalive_timeout 1s;', 'POST'),
      ]);
      failureTable(context, 'c. nginx `keepalive_timeout 1s 1s;` (announces Keep-Alive: timeout=1), sparse GETs', `${sparseNote} Goal: no failures, no waits.`, announced);
      failureTarget(context, 'c. nginx Keep-Alive: timeout=1, sparse', announced);
      failureTable(context, 'h. nginx `keepalive_timeout 1s;` (silent: no Keep-Alive header), sparse POSTs: the idle-timeout race', `${sparseNote} Ran with row c. Goal: no POST lost.`, silent);
      failureTarget(context, 'h. nginx silent keepalive_timeout 1s, POSTs', silent);
    }

    if (hasNginx && row('d')) {
      const outcomes = await underReloads(plan, 3_000, plan.reload3Ms);
      rateTable(
        context,
        'd. nginx defaults (keepalive_requests 1000) under load, reloaded every 3 s',
        `${LOAD_NOTE}; one round of ${plan.reload3Ms / 1e3} s per client. Not all up: share of ${SAMPLE_MS} ms samples in which some lifeline slot was neither healthy nor busy (undici dials lazily: not applicable).`,
        outcomes,
        reloadColumns,
      );
      failureTarget(context, 'd. nginx reloaded every 3 s', outcomes);
    }

    // Row e sits between d and f so that both reload rows do not run back to back on one nginx.
    if (row('e')) await finRows(context, plan);

    if (hasNginx && row('f')) {
      const reloads = await underReloads(plan, 2_000, plan.reload2Ms);
      rateTable(context, 'f. nginx reloaded every 2 s under load, GETs', `${LOAD_NOTE}; one round of ${plan.reload2Ms / 1e3} s per client. Failed: lost requests.`, reloads, reloadColumns);
      failureTarget(context, 'f. nginx reloaded every 2 s', reloads);
    }

    if (row('g')) dropTable(context, plan, await drops(plan));

    if (row('i')) replacementTable(context, plan, await replacementCpu(plan));
  },
};

/** One round of row i: CPU (user and system, this process) per request, and the requests that failed. */
interface CpuRound {
  cpu: number;
  /** Why requests failed: reason, count. */
  failures: Map<string, number>;
}

/**
 * Row i: what a replacement costs. The FIN server in its own process ends every connection as it
 * writes its response, so each request needs a new connection: CPU per request is CPU per
 * replacement (a dial, a connection's end, and the request on it). Fixed counts, not durations:
 * the figure is CPU per request, whatever the rate. The rounds alternate, after a warm-up pass.
 */
async function replacementCpu(plan: Plan): Promise<Map<string, CpuRound[]>> {
  const server = await startFinServerProcess(1);
  try {
    const round = (contender: Contender) =>
      withClient(contender, server.origin, CONNECTIONS, async (client): Promise<CpuRound> => {
        let left = plan.replacements;
        const failures = new Map<string, number>();
        const failed = (error: unknown) => {
          const reason = failureReason(error);
          failures.set(reason, (failures.get(reason) ?? 0) + 1);
        };
        const before = process.cpuUsage();
        await Promise.all(
          Array.from({ length: CALLERS }, async () => {
            while (left-- > 0) await client.send('GET').catch(failed);
          }),
        );
        const used = process.cpuUsage(before);
        return { cpu: (used.user + used.system) / plan.replacements, failures };
      });
    return await alternate(CONTENDERS, plan.rounds, round);
  } finally {
    await server.stop();
  }
}

function replacementTable(context: CaseContext, plan: Plan, results: Map<string, CpuRound[]>): void {
  const median = (rounds: CpuRound[]) => summarize(rounds.map((r) => r.cpu)).median;
  const theirs = median(results.get(UNDICI)!);
  const rows = [...results].map(([contender, rounds]) => {
    const cpu = summarize(rounds.map((r) => r.cpu));
    const reasons = new Map<string, number>();
    for (const round of rounds) for (const [reason, n] of round.failures) reasons.set(reason, (reasons.get(reason) ?? 0) + n);
    return {
      contender,
      median: cpu.median,
      min: cpu.min,
      max: cpu.max,
      ratio: cpu.median / theirs,
      failed: [...reasons.values()].reduce((sum, n) => sum + n, 0),
      why: [...reasons].map(([reason, n]) => `${reason} ${n}`).join(', ') || '-',
      samples: rounds.map((r) => r.cpu),
    };
  });
  context.table({
    title: 'i. a FIN right after every response: the CPU of a replacement',
    note: `The FIN server in its own process ends each connection as it writes its response, so every request is on a new connection; ${CONNECTIONS} connections, ${CALLERS} callers, ${plan.replacements} requests per round, ${plan.rounds} round(s) per client after a warm-up pass, alternating. CPU: user and system time of this process per request. Goal: <= 1.50x undici's (issue 14 found healing 3x undici's redials).`,
    columns: [
      { key: 'contender', label: 'client', format: 'text' },
      { key: 'median', label: 'CPU us/request median', format: 'num' },
      { key: 'min', label: 'min', format: 'num' },
      { key: 'max', label: 'max', format: 'num' },
      { key: 'ratio', label: 'ratio', format: 'ratio' },
      { key: 'failed', label: 'failed', format: 'int' },
      WHY,
    ],
    rows,
  });
  const ours = rows.find((r) => r.contender === LIFELINE)!;
  context.target({
    name: 'lifecycle i. CPU per replacement',
    goal: "<= 1.50x undici Pool's",
    measured: `${ours.ratio.toFixed(2)}x (${ours.median.toFixed(0)} us against ${theirs.toFixed(0)} us per request)`,
    pass: ours.ratio <= 1.5,
  });
  const theirFailures = rows.find((r) => r.contender === UNDICI)!.failed;
  context.target({
    name: 'lifecycle i. FIN after every response: failed requests',
    goal: '0 where undici has 0, fewer where it has any',
    measured: `lifeline ${ours.failed}, undici ${theirFailures}`,
    pass: theirFailures === 0 ? ours.failed === 0 : ours.failed < theirFailures,
  });
}

/** Row e: the FIN server in its own process, GETs then POSTs. */
async function finRows(context: CaseContext, plan: Plan): Promise<void> {
  const server = await startFinServerProcess(FIN_EVERY);
  try {
    for (const method of ['GET', 'POST'] as const) {
      const outcomes = await throughput(plan, server.origin, method);
      rateTable(
        context,
        `e. a FIN (no Connection: close) right after every ${FIN_EVERY}th response, ${method}s`,
        `A raw Node server in its own process, ending each connection as it writes its ${FIN_EVERY}th response, as an exiting nginx worker does; ${LOAD_NOTE}; ${roundsNote(plan)}. Failed: lost requests.`,
        outcomes,
      );
      failureTarget(context, `e. FIN after every ${FIN_EVERY}th response, ${method}s`, outcomes);
    }
  } finally {
    await server.stop();
  }
}
