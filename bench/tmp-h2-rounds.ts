// Scratch: one row of the http2 case (lifeline h2 and undici h2), each round's req/s, p50, p99, CPU and GC printed.
//   node build/bench/tmp-h2-rounds.js <connections> <callers> <round ms> <rounds>
import { openHttp2Clients } from './cases/http2-clients.js';
import { startH2Venue } from './lib/h2-server.js';
import { runLoad } from './lib/load.js';
import { alternate } from './lib/rounds.js';
import { PerformanceObserver } from 'node:perf_hooks';

let gcMs = 0;
let gcMax = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcMs += e.duration;
    gcMax = Math.max(gcMax, e.duration);
  }
}).observe({ entryTypes: ['gc'] });

const [connections = '1', callers = '256', ms = '300', rounds = '15'] = process.argv.slice(2);
const venue = await startH2Venue();
const clients = (await openHttp2Clients(venue, Number(connections))).slice(0, 2);
const samples = await alternate(clients, Number(rounds), async (c) => {
  gcMs = gcMax = 0;
  const round = await runLoad(c.send, Number(callers), Number(ms));
  await new Promise((r) => setImmediate(r));
  return { ...round, gcMs, gcMax };
});
for (const [name, xs] of samples) {
  console.log(name);
  console.log('  req/s', xs.map((x) => Math.round(x.requestsPerSecond)).join(' '));
  console.log('  p50  ', xs.map((x) => Math.round(x.p50 / 1000)).join(' '));
  console.log('  p99  ', xs.map((x) => Math.round(x.p99 / 1000)).join(' '));
  console.log('  cpu  ', xs.map((x) => Math.round(x.cpuPerRequest)).join(' '));
  console.log('  gc ms', xs.map((x) => Math.round(x.gcMs)).join(' '));
  console.log('  gcmax', xs.map((x) => Math.round(x.gcMax)).join(' '));
}
for (const c of clients) await c.close();
await venue.stop();
