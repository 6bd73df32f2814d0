// Scratch: one client of the http2 case alone for a few seconds, to profile (node --cpu-prof).
//   node --cpu-prof --cpu-prof-dir=/tmp/h2prof build/bench/tmp-h2-prof.js <client index 0|1|2> <connections> <callers> <ms>
import { openHttp2Clients } from './cases/http2-clients.js';
import { startH2Venue } from './lib/h2-server.js';
import { runLoad } from './lib/load.js';

const [index = '0', connections = '1', callers = '64', ms = '3000'] = process.argv.slice(2);
const venue = await startH2Venue();
const clients = await openHttp2Clients(venue, Number(connections));
const client = clients[Number(index)]!;
await runLoad(client.send, Number(callers), 500);
const round = await runLoad(client.send, Number(callers), Number(ms));
console.log(client.name, Math.round(round.requestsPerSecond), 'req/s', round.cpuPerRequest.toFixed(1), 'us/req CPU', 'p99', (round.p99 / 1000).toFixed(1), 'ms');
for (const c of clients) await c.close();
await venue.stop();
