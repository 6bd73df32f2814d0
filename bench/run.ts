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
import { writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import WebSocket from 'ws';
import { ClientPool, Feed } from '../src/index.js';

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
// Feeds: messages per second through feed.on('message') against a bare ws client on the same server.
const MESSAGES = quick ? 20_000 : 200_000;
const bare = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
await once(bare, 'open');
const feed = Feed.connect({ url: `ws://127.0.0.1:${port}` });
while (feed.state !== 'healthy') await new Promise((resolve) => setTimeout(resolve, 5));

/** Asks the server for `n` messages and resolves with messages per second once all arrived. */
function blast(send: (text: string) => void, subscribe: (onMessage: () => void) => () => void, n: number): Promise<number> {
  return new Promise((resolve) => {
    let got = 0;
    const start = process.hrtime.bigint();
    const off = subscribe(() => {
      if (++got === n) {
        off();
        resolve(n / (Number(process.hrtime.bigint() - start) / 1e9));
      }
    });
    send(`blast:${n}`);
  });
}
const feedContenders = [
  {
    name: 'bare ws client',
    run: (n: number) =>
      blast(
        (text) => bare.send(text),
        (onMessage) => {
          // A fair floor: the bare client decodes text frames to strings, as the feed does.
          const listener = (data: Buffer, isBinary: boolean) => {
            if (!isBinary) data.toString();
            onMessage();
          };
          bare.on('message', listener);
          return () => bare.off('message', listener);
        },
        n,
      ),
  },
  {
    name: "lifeline feed.on('message')",
    run: (n: number) =>
      blast(
        (text) => void feed.send(text),
        (onMessage) => {
          feed.on('message', onMessage);
          return () => feed.off('message', onMessage);
        },
        n,
      ),
  },
];
for (const c of feedContenders) await c.run(Math.min(MESSAGES, 20_000));
const feedRates = new Map<string, number[]>(feedContenders.map((c) => [c.name, []]));
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? feedContenders : [...feedContenders].reverse();
  for (const c of order) feedRates.get(c.name)!.push(await c.run(MESSAGES));
}
const feedReference = median(feedRates.get('bare ws client')!);
console.log(`\nfeed: ${MESSAGES} text messages of ~100 B per round`);
for (const c of feedContenders) {
  const xs = feedRates.get(c.name)!;
  const m = median(xs);
  console.log(
    `  ${c.name.padEnd(28)} median ${fmt(m).padStart(9)} msg/s  min ${fmt(Math.min(...xs)).padStart(9)}  max ${fmt(Math.max(...xs)).padStart(9)}  ratio ${(m / feedReference).toFixed(2)}x`,
  );
  results.push({ case: 'feed', contender: c.name, median: m, min: Math.min(...xs), max: Math.max(...xs), ratio: m / feedReference });
}
bare.close();
await feed.close();
server.disconnect();
writeFileSync(
  'bench/results.json',
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, quick, rounds: ROUNDS, results }, null, 2)}\n`,
);
console.log('\nresults written to bench/results.json');
