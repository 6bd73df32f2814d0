/**
 * Case 6: stale sockets. A server with a 1 s idle timeout that announces
 * nothing, and callers that each send a GET every 0.9-1.1 s (uniform, seeded),
 * so about half the requests come after the server's timer ran out: each
 * caller has a client of its own with one connection, and every contender runs
 * at the same time against the same server, in one run. Counted: requests,
 * those that failed (and why), and how many connections the server accepted
 * (a client that never reuses a connection avoids stale sockets at that price),
 * and the latency of the requests that succeeded (a client that redials on the
 * caller's path, rather than in the background, pays for the dial there).
 *
 * Contenders: lifeline with `idleTimeout: 900` (below the server's), lifeline
 * with its defaults (nothing to go on: the server announces nothing), undici's
 * Pool with its defaults (the reference), and undici's Pool told the same as
 * lifeline (`keepAliveTimeout: 900`).
 */
import { Pool } from 'undici';
import { ClientPool } from '../../src/index.js';
import { seededRandom } from '../../src/testing/index.js';
import { failureReason } from '../lib/callers.js';
import type { BenchCase } from '../lib/case.js';
import { startIdleServer, type IdleMode } from '../lib/idle-server.js';
import { percentile } from '../lib/stats.js';
import { sleep } from '../lib/wait.js';

const IDLE_MS = 1_000;
const GAP_MIN = 900;
const GAP_MAX = 1_100;
const CALLERS = 12;
const TUNED = 900;

interface Client {
  get(): Promise<void>;
  close(): Promise<void>;
}

interface Contender {
  name: string;
  open(url: string): Promise<Client>;
}

const CONTENDERS: Contender[] = [
  {
    name: `lifeline, idleTimeout: ${TUNED}`,
    async open(url) {
      const pool = await ClientPool.connect({ url, connections: 1, idleTimeout: TUNED });
      return { get: async () => void (await pool.request({ path: '/' })), close: () => pool.close() };
    },
  },
  {
    name: 'lifeline, defaults',
    async open(url) {
      const pool = await ClientPool.connect({ url, connections: 1 });
      return { get: async () => void (await pool.request({ path: '/' })), close: () => pool.close() };
    },
  },
  {
    name: 'undici Pool, defaults',
    async open(url) {
      const pool = new Pool(url, { connections: 1 });
      return { get: async () => void (await (await pool.request({ path: '/', method: 'GET' })).body.text()), close: () => pool.close() };
    },
  },
  {
    name: `undici Pool, keepAliveTimeout: ${TUNED}`,
    async open(url) {
      const pool = new Pool(url, { connections: 1, keepAliveTimeout: TUNED });
      return { get: async () => void (await (await pool.request({ path: '/', method: 'GET' })).body.text()), close: () => pool.close() };
    },
  },
];

interface Tally {
  requests: number;
  failed: number;
  reasons: Map<string, number>;
  /** us from send to response, of the requests that succeeded: a redial on the caller's path shows here. */
  latencies: number[];
}

async function runMode(mode: IdleMode, seconds: number) {
  // One server per contender, so "connections accepted" is each one's own count; all run at once.
  const servers = await Promise.all(CONTENDERS.map(() => startIdleServer(mode, IDLE_MS)));
  const tallies = CONTENDERS.map((): Tally => ({ requests: 0, failed: 0, reasons: new Map(), latencies: [] }));
  const clients: Client[][] = [];
  try {
    for (const [i, contender] of CONTENDERS.entries()) {
      clients.push(await Promise.all(Array.from({ length: CALLERS }, () => contender.open(servers[i]!.url))));
    }
    const stopAt = performance.now() + seconds * 1_000;
    const loops = CONTENDERS.flatMap((_, i) =>
      clients[i]!.map(async (client, caller) => {
        // Every contender's caller k waits the same gaps as every other's.
        const random = seededRandom(1 + caller);
        const tally = tallies[i]!;
        // A first request, so the connection has served before the first idle gap.
        await client.get().catch(() => {});
        for (;;) {
          await sleep(GAP_MIN + (GAP_MAX - GAP_MIN) * random());
          if (performance.now() > stopAt) return;
          tally.requests++;
          const sent = performance.now();
          try {
            await client.get();
            tally.latencies.push((performance.now() - sent) * 1e3);
          } catch (error) {
            tally.failed++;
            const reason = failureReason(error);
            tally.reasons.set(reason, (tally.reasons.get(reason) ?? 0) + 1);
          }
        }
      }),
    );
    await Promise.all(loops);
  } finally {
    for (const list of clients) await Promise.all(list.map((client) => client.close()));
    await Promise.all(servers.map((server) => server.close()));
  }
  return CONTENDERS.map((contender, i) => {
    const tally = tallies[i]!;
    const sorted = tally.latencies.sort((a, b) => a - b);
    return {
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      client: contender.name,
      requests: tally.requests,
      failed: tally.failed,
      rate: tally.requests ? (100 * tally.failed) / tally.requests : 0,
      // Beyond the one each caller opened first.
      redials: servers[i]!.connections - CALLERS,
      reasons: [...tally.reasons].map(([reason, n]) => `${reason} ${n}`).join(', ') || '-',
    };
  });
}

const DESCRIBE: Record<IdleMode, string> = {
  fin: 'the server closes idle connections with a FIN (10 ms timer wheel)',
  silent: 'the flow expires silently (a NAT or balancer idle timeout): the next request on it is reset',
};

export const staleCase: BenchCase = {
  name: 'stale',
  title: 'Stale sockets: a 1 s idle timeout the server does not announce, requests every 0.9-1.1 s',
  async run(context) {
    const seconds = context.settings.quick ? 4 : 20;
    for (const mode of ['silent', 'fin'] as const) {
      const rows = await runMode(mode, seconds);
      context.table({
        title: `${DESCRIBE[mode]}; ${CALLERS} callers per client, ${seconds} s, all clients at once`,
        note: 'Each caller has its own client with one connection. Redials: connections the server accepted beyond the first of each caller.',
        columns: [
          { key: 'client', label: 'client', format: 'text' },
          { key: 'requests', label: 'requests', format: 'int' },
          { key: 'failed', label: 'failed', format: 'int' },
          { key: 'rate', label: 'failed %', format: 'num' },
          { key: 'redials', label: 'redials', format: 'int' },
          { key: 'p50', label: 'p50 us', format: 'int' },
          { key: 'p99', label: 'p99 us', format: 'int' },
          { key: 'reasons', label: 'why', format: 'text' },
        ],
        rows,
      });
      const tuned = rows[0]!;
      const undici = rows[2]!;
      context.target({
        name: `stale sockets (${mode}): lifeline idleTimeout ${TUNED}`,
        goal: 'no request fails',
        measured: `${tuned.failed} of ${tuned.requests} failed (undici Pool defaults: ${undici.failed} of ${undici.requests})`,
        pass: tuned.failed === 0 && tuned.requests > 0,
      });
    }
  },
};
