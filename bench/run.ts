/**
 * First benchmark: lifeline `pool.request` against undici's own `Pool.request`,
 * same connection count, same concurrency, same server (in a separate process),
 * rounds alternating between the two within this one process run.
 *
 *   npm run bench            # full
 *   npm run bench -- --quick # a smoke run, figures not meant to be judged
 *
 * It runs compiled JavaScript (tsc into build/), not tsx: a loader's transform
 * (esbuild's keepNames wrappers) would tax lifeline's code and not undici's.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { ClientPool } from '../src/index.js';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
const quick = values.quick;
const ROUNDS = quick ? 3 : 7;
const REQUESTS = quick ? 2_000 : 20_000;
const CASES = [
  { connections: 4, concurrency: 16, path: '/small' },
  { connections: 16, concurrency: 64, path: '/small' },
];

const server = fork(new URL('./server.js', import.meta.url));
const [{ port }] = (await once(server, 'message')) as [{ port: number }];
const origin = `http://127.0.0.1:${port}`;

type Contender = { name: string; send: () => Promise<unknown>; close: () => Promise<void> };

/** Runs `total` requests with `concurrency` in flight; returns requests per second. */
async function drive(send: () => Promise<unknown>, total: number, concurrency: number): Promise<number> {
  let started = 0;
  const start = process.hrtime.bigint();
  const worker = async () => {
    while (started < total) {
      started++;
      await send();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return total / seconds;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

console.log(`lifeline bench (${quick ? 'quick' : 'full'}): ${ROUNDS} rounds x ${REQUESTS} requests, Node ${process.version}`);
const results: Record<string, unknown>[] = [];
for (const { connections, concurrency, path } of CASES) {
  const lifeline = await ClientPool.connect({ url: origin, connections, acquireTimeout: 30_000 });
  const undiciPool = new Pool(origin, { connections, pipelining: 1 });
  const contenders: Contender[] = [
    {
      name: 'undici Pool.request',
      send: async () => {
        const res = await undiciPool.request({ path, method: 'GET' });
        await res.body.text();
      },
      close: () => undiciPool.close(),
    },
    {
      name: 'lifeline pool.request',
      send: () => lifeline.request({ path }),
      close: () => lifeline.close(),
    },
  ];
  // Warm-up: JIT and connections for both.
  for (const c of contenders) await drive(c.send, Math.min(REQUESTS, 2_000), concurrency);
  const rates = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate who goes first, so neither always runs on a warmer or colder machine.
    const order = round % 2 === 0 ? contenders : [...contenders].reverse();
    for (const c of order) rates.get(c.name)!.push(await drive(c.send, REQUESTS, concurrency));
  }
  const reference = median(rates.get('undici Pool.request')!);
  console.log(`\n${connections} connections, concurrency ${concurrency}, GET ${path} (~100 B)`);
  for (const c of contenders) {
    const xs = rates.get(c.name)!;
    const m = median(xs);
    console.log(
      `  ${c.name.padEnd(24)} median ${fmt(m).padStart(7)} req/s  min ${fmt(Math.min(...xs)).padStart(7)}  max ${fmt(Math.max(...xs)).padStart(7)}  ratio ${(m / reference).toFixed(2)}x`,
    );
    results.push({ case: `${connections}c/${concurrency}`, contender: c.name, median: m, min: Math.min(...xs), max: Math.max(...xs), ratio: m / reference });
  }
  for (const c of contenders) await c.close();
}
server.disconnect();
