/**
 * Case 1: HTTP requests on loopback. Six clients, small (~100 B) and large
 * (64 KiB) bodies, 4 and 16 connections, 16 and 64 callers; requests per
 * second, p50, p99 and client CPU per request, each the median over rounds.
 */
import type { BenchCase, CaseContext } from '../lib/case.js';
import { ratioOf } from '../lib/compare.js';
import { runLoad } from '../lib/load.js';
import { recordLoadTable } from '../lib/load-table.js';
import { alternate } from '../lib/rounds.js';
import { LIFELINE_REQUEST, openHttpClients, REFERENCE, type HttpClient } from './http-clients.js';

const BODIES = [
  { path: '/small', label: 'small body (~100 B)' },
  { path: '/large', label: 'large body (64 KiB)' },
];
const CONNECTIONS = [4, 16];
const CONCURRENCY = [16, 64];

/** Opens the six clients, lends them to `use`, and closes them whatever happens. */
async function withClients<T>(context: CaseContext, path: string, connections: number, use: (clients: HttpClient[]) => Promise<T>): Promise<T> {
  const clients = await openHttpClients(context.server.origin, context.server.port, path, connections);
  try {
    return await use(clients);
  } finally {
    for (const client of clients) await client.close();
  }
}

async function measure(context: CaseContext, path: string, label: string, connections: number, concurrency: number): Promise<void> {
  const { settings } = context;
  const rounds = await withClients(context, path, connections, (clients) =>
    alternate(clients, settings.rounds, (client) => runLoad(client.send, concurrency, settings.httpRoundMs)),
  );
  // Latency and CPU: the median over rounds of each round's figure.
  const { compared, medianOf } = recordLoadTable(context, `${label}, ${connections} connections, ${concurrency} concurrent callers`, rounds, REFERENCE);
  const rateRatio = ratioOf(compared, LIFELINE_REQUEST);
  const p99Ratio = medianOf(LIFELINE_REQUEST, 'p99') / medianOf(REFERENCE, 'p99');
  context.target({
    name: `pool.request, ${path.slice(1)}, ${connections} conn, ${concurrency} callers`,
    goal: `>= 1.00x ${REFERENCE} req/s, p99 <= 1.00x`,
    measured: `${rateRatio.toFixed(2)}x req/s, p99 ${p99Ratio.toFixed(2)}x`,
    pass: rateRatio >= 1 && p99Ratio <= 1,
  });
}

/** Each client's code paths optimized before the first table: its warm-up pass alone is one short round. */
const JIT_WARMUP_MS = 500;

async function warmUp(context: CaseContext): Promise<void> {
  const duration = context.settings.quick ? context.settings.httpRoundMs : JIT_WARMUP_MS;
  await withClients(context, BODIES[0]!.path, CONNECTIONS[0]!, async (clients) => {
    for (const client of clients) await runLoad(client.send, CONCURRENCY[0]!, duration);
  });
}

export const httpCase: BenchCase = {
  name: 'http',
  title: 'HTTP requests on loopback',
  async run(context) {
    await warmUp(context);
    for (const { path, label } of BODIES) {
      for (const connections of CONNECTIONS) {
        for (const concurrency of CONCURRENCY) await measure(context, path, label, connections, concurrency);
      }
    }
  },
};
