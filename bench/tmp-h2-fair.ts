// Scratch: latency spread and per-caller fairness of lifeline h2 and undici h2, windows alternated.
//   node build/bench/tmp-h2-fair.js <connections> <callers> <ms per window>
import { openHttp2Clients } from './cases/http2-clients.js';
import { startH2Venue } from './lib/h2-server.js';

const [connections = '1', callers = '256', ms = '2000'] = process.argv.slice(2);
const venue = await startH2Venue();
const clients = await openHttp2Clients(venue, Number(connections));
for (let pass = 0; pass < 4; pass++) {
  for (const client of clients.slice(0, 2)) {
    const lat: number[] = [];
    const perCaller = new Array<number>(Number(callers)).fill(0);
    const deadline = performance.now() + Number(ms);
    await Promise.all(perCaller.map(async (_, i) => {
      while (performance.now() < deadline) {
        const t = performance.now();
        await client.send();
        lat.push(performance.now() - t);
        perCaller[i]!++;
      }
    }));
    lat.sort((a, b) => a - b);
    const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))]!.toFixed(1);
    const pc = [...perCaller].sort((a, b) => a - b);
    const mean = lat.reduce((s, x) => s + x, 0) / lat.length;
    if (pass >= 1) console.log(`${client.name.padEnd(26)} n ${lat.length} mean ${mean.toFixed(1)} p10 ${q(10)} p50 ${q(50)} p90 ${q(90)} p99 ${q(99)} p99.9 ${q(99.9)} max ${q(100)} ms; requests per caller min ${pc[0]} median ${pc[pc.length >> 1]} max ${pc[pc.length - 1]}`);
  }
}
for (const c of clients) await c.close();
await venue.stop();
