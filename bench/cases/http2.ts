/**
 * Case: HTTP/2 (issue 19). lifeline's HTTP/2 pool against undici's Pool with `allowH2` (the reference)
 * and against lifeline's HTTP/1.1 pool, over TLS on loopback as a venue serves them: 1 and 4
 * connections, 64 and 256 concurrent callers, ~100 B bodies, time-boxed closed-loop rounds alternating
 * as the http case's do. Per client: req/s, p50 and client CPU per request (the server runs in its
 * own process), each the median over rounds, with the ratios to undici's; p99 over every request of
 * every round, its ratio to undici's with a bootstrap interval.
 *
 * Every client speaks what its name says, or the run fails: after each round the server's counts
 * must show exactly that round's requests served as HTTP/2 streams (or HTTP/1.1 requests), and a
 * client that negotiated no `h2` is named. Why TLS, and why undici is given `pipelining`:
 * bench/cases/http2-clients.ts and bench/notes.md ("The http2 case").
 */
import type { BenchCase, CaseContext } from '../lib/case.js';
import { compareRates, rateColumns, rateRow, ratioOf } from '../lib/compare.js';
import { startH2Venue, type H2Venue, type ServerCounts } from '../lib/h2-server.js';
import { runLoad, type LoadRound } from '../lib/load.js';
import { alternate } from '../lib/rounds.js';
import { seededRandom } from '../../src/testing/index.js';
import { median, pooledPercentile, pooledRatioInterval, type Interval } from '../lib/stats.js';
import type { Column } from '../lib/table.js';
import { LIFELINE_H1, LIFELINE_H2, openHttp2Clients, STREAMS, UNDICI_H2, type H2Client } from './http2-clients.js';
import { reloadRow } from './http2-reloads.js';

const CONNECTIONS = [1, 4];
const CALLERS = [64, 256];
/**
 * A full run's rounds are 3x the http case's (300 ms): TLS on 2 cores serves a few thousand requests
 * per second. The p99 is pooled over all of a client's rounds; rounds of 1 s (15 s per client, some
 * hundred GC pauses) did not narrow its spread between runs (bench/notes.md), so the run stays short.
 * The quick run keeps its short rounds.
 */
const ROUND_FACTOR = 3;
/** The bootstrap's seed for the p99 ratio's interval: fixed, so a results.json can be recomputed. */
const BOOTSTRAP_SEED = 19;
/**
 * Each client's warm-up in each table of a full run, before its recorded rounds (and the one pass
 * `alternate` discards): its fresh connections, the JIT, the heap grown to its load. Without it the
 * first rounds of a table had p99s 2-3x the later ones, and a p99 pooled over the rounds was theirs:
 * in one row (4 connections, 64 callers) 1.07x undici's median over nine runs, against 0.61-0.92x
 * in three runs of that row after 1.5 s of warm-up (bench/notes.md).
 */
const ROW_WARMUP_MS = 1_500;

interface Http2Round extends LoadRound {
  /** Connections that carried a request in the round, as the server counted them. */
  connectionsUsed: number;
  /** The most streams open at once on one connection, as the server saw them (HTTP/2 only). */
  peakStreams: number;
  /** The server's CPU per request (us): on loopback the server, not the client, may be what limits req/s. */
  serverCpuPerRequest: number;
}

const COLUMNS: Column[] = [
  ...rateColumns('client', 'req/s'),
  { key: 'p50', label: 'p50 us', format: 'num' },
  { key: 'p99', label: 'p99 us', format: 'num' },
  { key: 'p99Ratio', label: 'p99 ratio', format: 'ratio' },
  { key: 'p99Interval', label: 'p99 ratio, 95% interval', format: 'text' },
  { key: 'roundP99', label: 'p99 us, round median', format: 'num' },
  { key: 'cpu', label: 'CPU us/req', format: 'num' },
  { key: 'cpuRatio', label: 'CPU ratio', format: 'ratio' },
  { key: 'serverCpu', label: 'server CPU us/req', format: 'num' },
  { key: 'used', label: 'conns used', format: 'num' },
  { key: 'peak', label: 'peak streams/conn', format: 'int' },
];

/** Opens the clients, lends them to `use`, and closes them whatever happens. */
async function withClients<T>(venue: H2Venue, connections: number, use: (clients: H2Client[]) => Promise<T>): Promise<T> {
  const clients = await openHttp2Clients(venue, connections);
  try {
    return await use(clients);
  } finally {
    for (const client of clients) await client.close();
  }
}

/**
 * One round of `client`, checked against what the server served since `counts.last`: exactly the
 * round's requests, in the client's protocol. A client that fell back to HTTP/1.1 fails the run.
 */
async function checkedRound(venue: H2Venue, counts: { last: ServerCounts }, client: H2Client, callers: number, durationMs: number): Promise<Http2Round> {
  let round: LoadRound;
  try {
    round = await runLoad(client.send, callers, durationMs, true);
  } catch (error) {
    const now = await venue.counts();
    if (now.h2Refused > counts.last.h2Refused) {
      throw new Error(`bench http2: ${client.name} negotiated no h2 with the HTTP/2 server (${now.h2Refused - counts.last.h2Refused} TLS connections without ALPN h2): it fell back to HTTP/1.1`, { cause: error });
    }
    throw error;
  }
  const now = await venue.counts();
  const streams = now.h2Streams - counts.last.h2Streams;
  const h1Requests = now.h1Requests - counts.last.h1Requests;
  const refused = now.h2Refused - counts.last.h2Refused;
  const serverCpu = now.cpuMicros - counts.last.cpuMicros;
  counts.last = now;
  const served = client.protocol === 'h2' ? streams : h1Requests;
  const other = client.protocol === 'h2' ? h1Requests : streams;
  if (served !== round.requests || other !== 0 || refused !== 0) {
    throw new Error(
      `bench http2: ${client.name} should have been served ${round.requests} requests over ${client.protocol}; the server counted ` +
        `${streams} HTTP/2 streams, ${h1Requests} HTTP/1.1 requests and ${refused} connections without ALPN h2 in its round`,
    );
  }
  const h2 = client.protocol === 'h2';
  return {
    ...round,
    connectionsUsed: h2 ? now.h2SessionsUsed : now.h1ConnectionsUsed,
    peakStreams: h2 ? now.h2PeakStreams : Number.NaN,
    serverCpuPerRequest: serverCpu / round.requests,
  };
}

async function measure(context: CaseContext, venue: H2Venue, connections: number, callers: number): Promise<void> {
  const { settings } = context;
  const roundMs = settings.quick ? settings.httpRoundMs : ROUND_FACTOR * settings.httpRoundMs;
  const rounds = await withClients(venue, connections, async (clients) => {
    if (!settings.quick) for (const client of clients) await runLoad(client.send, callers, ROW_WARMUP_MS);
    // The counts from here on: each round's are the difference (and `...Used` restarts).
    const counts = { last: await venue.counts() };
    return alternate(clients, settings.rounds, (client) => checkedRound(venue, counts, client, callers, roundMs));
  });
  const compared = compareRates(new Map([...rounds].map(([name, xs]) => [name, xs.map((x) => x.requestsPerSecond)])), UNDICI_H2);
  const medianOf = (name: string, key: 'p50' | 'p99' | 'cpuPerRequest' | 'serverCpuPerRequest' | 'connectionsUsed' | 'peakStreams') => median(rounds.get(name)!.map((x) => x[key]));
  // p99 pooled over every request of every round, not a median of rounds' p99s: a round's p99 is its
  // ~15th-worst request, and whether one pause of the process fell in it decided the figure (notes.md).
  const latencies = new Map([...rounds].map(([name, xs]) => [name, xs.map((x) => x.latencies!)]));
  const p99s = new Map([...latencies].map(([name, runs]) => [name, pooledPercentile(runs, 99) * 1e3]));
  const p99RatioOf = (name: string) => p99s.get(name)! / p99s.get(UNDICI_H2)!;
  // The reference against itself has no interval worth the bootstrap.
  const intervalOf = (name: string): Interval | undefined =>
    name === UNDICI_H2 ? undefined : pooledRatioInterval(latencies.get(name)!, latencies.get(UNDICI_H2)!, 99, seededRandom(BOOTSTRAP_SEED));
  const intervals = new Map(compared.map((c) => [c.name, intervalOf(c.name)]));
  const shown = (interval: Interval) => `${interval.low.toFixed(2)}-${interval.high.toFixed(2)}x`;
  context.table({
    title: `${connections} connection${connections === 1 ? '' : 's'}, ${callers} concurrent callers`,
    note:
      `GET of ~100 B over TLS, ${settings.rounds} rounds of ${roundMs} ms per client${settings.quick ? '' : ` after ${ROW_WARMUP_MS} ms of warm-up`}; up to ${STREAMS} streams per HTTP/2 connection in each client. ` +
      `p99 over every request of every round; its ratio's 95% interval resamples rounds (bootstrap, seed ${BOOTSTRAP_SEED}). ` +
      'conns used, peak streams/conn and server CPU: as the server counted them (medians over rounds).',
    columns: COLUMNS,
    rows: compared.map((c) => {
      const interval = intervals.get(c.name);
      return {
        ...rateRow(c),
        p50: medianOf(c.name, 'p50'),
        p99: p99s.get(c.name),
        p99Ratio: p99RatioOf(c.name),
        p99Interval: interval ? shown(interval) : '-',
        roundP99: medianOf(c.name, 'p99'),
        cpu: medianOf(c.name, 'cpuPerRequest'),
        cpuRatio: medianOf(c.name, 'cpuPerRequest') / medianOf(UNDICI_H2, 'cpuPerRequest'),
        serverCpu: medianOf(c.name, 'serverCpuPerRequest'),
        used: medianOf(c.name, 'connectionsUsed'),
        peak: medianOf(c.name, 'peakStreams'),
        // results.json keeps the rounds' figures, not their ~2,000 latencies each.
        rounds: rounds.get(c.name)!.map(({ latencies: _, ...round }) => round),
      };
    }),
  });
  const rateRatio = ratioOf(compared, LIFELINE_H2);
  const p99Ratio = p99RatioOf(LIFELINE_H2);
  context.target({
    name: `http2: pool.request h2, ${connections} conn, ${callers} callers`,
    goal: `>= 1.00x ${UNDICI_H2} req/s, p99 <= 1.00x`,
    measured: `${rateRatio.toFixed(2)}x req/s, p99 ${p99Ratio.toFixed(2)}x (95% ${shown(intervals.get(LIFELINE_H2)!)})`,
    pass: rateRatio >= 1 && p99Ratio <= 1,
  });
}

export const http2Case: BenchCase = {
  name: 'http2',
  title: 'HTTP/2 over TLS on loopback',
  async run(context) {
    // HTTP2_ROWS=load,reloads (both by default): the load tables, the nginx reload row.
    const rows = process.env.HTTP2_ROWS?.split(',') ?? ['load', 'reloads'];
    const venue = await startH2Venue();
    try {
      for (const connections of rows.includes('load') ? CONNECTIONS : []) {
        for (const callers of CALLERS) await measure(context, venue, connections, callers);
      }
      // Issue 19's third goal: zero failed requests across nginx reloads (http2-reloads.ts).
      if (rows.includes('reloads')) await reloadRow(context, [LIFELINE_H2, UNDICI_H2, LIFELINE_H1]);
    } finally {
      await venue.stop();
    }
  },
};
