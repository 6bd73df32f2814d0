/**
 * Case 3: healing. Two scenarios on a fault server from `lifeline/testing`,
 * a fresh pool per round (a pool that healed less than 1 s ago backs off
 * instead of redialing at once, which would make rounds depend on each other):
 *
 * - idle drop: the server drops every socket of an idle pool whose
 *   connections have all served a request, and a request follows, either at
 *   once (in the drop's own turn: no client can have read the FIN yet, a race
 *   no healing wins) or 1 ms later (the FIN has reached the client's host:
 *   the case healing is for). Time until the pool is full again (every slot
 *   healthy on a new socket), time to that request's response, and requests
 *   that failed, with why. undici's Pool goes through the same drop as the
 *   reference (it reconnects lazily, so it has no "full again").
 * - restart: the server stops (refuses and drops) for `downMs` while a request
 *   waits for a connection, then listens again on the same port. Time from
 *   listening to the first response and to a full pool; the default backoff
 *   (100 ms doubling, full jitter) dominates it.
 *
 * The fault server runs in this process: nothing here is throughput, and the
 * drop, the restart and the client's observations are then on one clock.
 */
import { Pool } from 'undici';
import { ClientPool } from '../../src/index.js';
import { startFaultHttpServer, type FaultHttpServer } from '../../src/testing/index.js';
import type { BenchCase } from '../lib/case.js';
import { alternate } from '../lib/rounds.js';
import { summarize, type Summary } from '../lib/stats.js';
import type { Table } from '../lib/table.js';
import { sleep, waitUntil } from '../lib/wait.js';

const CONNECTIONS = [4, 16];
/** When the request follows the drop (ms): 0 is in the same turn. */
const LAGS = [0, 1];
/** The lag the no-failure target is judged on: the FIN has reached the client. */
const JUDGED_LAG = 1;
/** Longer than any heal should take; reaching it fails the run. */
const HEAL_TIMEOUT = 10_000;
const LIFELINE = 'lifeline ClientPool';

interface HealRound {
  /** ms from the fault (drop) or from listening again (restart) until every slot is healthy; NaN when not applicable. */
  full: number;
  /** ms until the request sent with the fault got its response; NaN when it failed. */
  first: number;
  /** Why the request failed, if it did. */
  failure: string | undefined;
}

interface Healer {
  name: string;
  round(): Promise<HealRound>;
}

function dropName(client: string, lag: number): string {
  return `${client}, request ${lag === 0 ? 'at once' : `${lag} ms later`}`;
}

/** Sends at once (synchronously, in the caller's turn) or `lag` ms later. */
async function sendAfter(lag: number, send: () => Promise<unknown>): Promise<unknown> {
  if (lag > 0) await sleep(lag);
  return send();
}

/** The request's time to its response since `t0()`, or NaN and the error's code (or message) when it rejects. */
function timed(request: Promise<unknown>, t0: () => number): Promise<{ first: number; failure: string | undefined }> {
  return request.then(
    () => ({ first: performance.now() - t0(), failure: undefined }),
    (error: Error & { code?: string }) => ({ first: Number.NaN, failure: `${error.code ?? error.name}: ${error.message}` }),
  );
}

function lifelineDrop(server: FaultHttpServer, connections: number, lag: number): Healer {
  return {
    name: dropName(LIFELINE, lag),
    async round() {
      const pool = await ClientPool.connect({ url: server.url, connections });
      try {
        // Every connection carries a request first, as undici's do below: the drop hits sockets in keep-alive reuse.
        await Promise.all(Array.from({ length: connections }, () => pool.request({ path: '/' })));
        const accepted = server.connections;
        const t0 = performance.now();
        server.dropAll();
        const request = timed(
          sendAfter(lag, () => pool.request({ path: '/' })),
          () => t0,
        );
        const full = await waitUntil(
          () => server.connections >= accepted + connections && pool.stats().healthy === connections,
          HEAL_TIMEOUT,
          'the pool to heal after a drop',
        );
        return { full: full - t0, ...(await request) };
      } finally {
        await pool.close();
      }
    },
  };
}

function undiciDrop(server: FaultHttpServer, connections: number, lag: number): Healer {
  return {
    name: dropName('undici Pool (reference)', lag),
    async round() {
      const pool = new Pool(server.url, { connections, pipelining: 1 });
      try {
        const accepted = server.connections;
        // Concurrent requests make the Pool open every connection it may (it dials lazily).
        await Promise.all(Array.from({ length: connections }, async () => (await pool.request({ path: '/', method: 'GET' })).body.dump()));
        await waitUntil(() => server.connections >= accepted + connections, HEAL_TIMEOUT, 'undici to open its connections');
        const t0 = performance.now();
        server.dropAll();
        const request = sendAfter(lag, async () => (await pool.request({ path: '/', method: 'GET' })).body.dump());
        return { full: Number.NaN, ...(await timed(request, () => t0)) };
      } finally {
        await pool.close();
      }
    },
  };
}

function lifelineRestart(server: FaultHttpServer, connections: number, downMs: number): Healer {
  return {
    name: LIFELINE,
    async round() {
      const pool = await ClientPool.connect({ url: server.url, connections });
      try {
        await server.stop();
        await sleep(downMs);
        let listening = Number.NaN;
        // It waits for a connection; nothing is free until a slot redials after the restart.
        const request = timed(pool.request({ path: '/', timeout: HEAL_TIMEOUT }), () => listening);
        await server.restart();
        listening = performance.now();
        const full = await waitUntil(() => pool.stats().healthy === connections, HEAL_TIMEOUT, 'the pool to heal after a restart');
        return { full: full - listening, ...(await request) };
      } finally {
        await pool.close();
      }
    },
  };
}

interface HealSummary {
  contender: string;
  connections: number;
  full: Summary;
  first: Summary;
  failures: string[];
}

function healTable(title: string, note: string, summaries: HealSummary[], rounds: number): Table {
  return {
    title,
    note,
    columns: [
      { key: 'contender', label: 'client', format: 'text' },
      { key: 'connections', label: 'conn', format: 'int' },
      { key: 'full', label: 'pool full ms median', format: 'num' },
      { key: 'fullMin', label: 'min', format: 'num' },
      { key: 'fullMax', label: 'max', format: 'num' },
      { key: 'first', label: 'response ms median', format: 'num' },
      { key: 'firstMax', label: 'max', format: 'num' },
      { key: 'failed', label: `failed (of ${rounds})`, format: 'int' },
      { key: 'why', label: 'why', format: 'text' },
    ],
    rows: summaries.map((s) => ({
      contender: s.contender,
      connections: s.connections,
      full: s.full.median,
      fullMin: s.full.min,
      fullMax: s.full.max,
      first: s.first.median,
      firstMax: s.first.max,
      failed: s.failures.length,
      why: [...new Set(s.failures)].join('; '),
      samples: { full: s.full.samples, first: s.first.samples },
    })),
  };
}

/** Runs the healers' rounds alternately, for each connection count, and summarizes each healer. */
async function scenario(healersFor: (connections: number) => Healer[], rounds: number): Promise<HealSummary[]> {
  const summaries: HealSummary[] = [];
  for (const connections of CONNECTIONS) {
    const results = await alternate(healersFor(connections), rounds, (healer) => healer.round());
    for (const [contender, xs] of results) {
      const answered = xs.map((x) => x.first).filter((x) => !Number.isNaN(x));
      summaries.push({
        contender,
        connections,
        full: summarize(xs.map((x) => x.full)),
        first: summarize(answered.length > 0 ? answered : [Number.NaN]),
        failures: xs.flatMap((x) => (x.failure === undefined ? [] : [x.failure])),
      });
    }
  }
  return summaries;
}

export const healingCase: BenchCase = {
  name: 'healing',
  title: 'Healing',
  async run(context) {
    const { dropRounds, healingRounds, downMs } = context.settings;
    const server = await startFaultHttpServer();
    try {
      const drops = await scenario((n) => LAGS.flatMap((lag) => [lifelineDrop(server, n, lag), undiciDrop(server, n, lag)]), dropRounds);
      context.table(
        healTable(
          'idle drop: every socket dropped while idle, then a request',
          `Times from the drop; ${dropRounds} round(s) per row, a fresh pool each, every connection having served a request.`,
          drops,
          dropRounds,
        ),
      );
      const restarts = await scenario((n) => [lifelineRestart(server, n, downMs)], healingRounds);
      context.table(
        healTable(
          `restart: server down ${downMs} ms while a request waits, then listening again`,
          `Times from listening again; ${healingRounds} round(s) per row, a fresh pool each, default backoff.`,
          restarts,
          healingRounds,
        ),
      );
      const judged = drops.filter((s) => s.contender === dropName(LIFELINE, JUDGED_LAG));
      const failed = judged.reduce((sum, s) => sum + s.failures.length, 0);
      context.target({
        name: `healing: requests failed after an idle drop, request ${JUDGED_LAG} ms later (lifeline)`,
        goal: 'none',
        measured: `${failed} of ${dropRounds * judged.length}`,
        pass: failed === 0,
      });
    } finally {
      await server.close();
    }
  },
};
