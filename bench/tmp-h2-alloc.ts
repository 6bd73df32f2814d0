// Scratch: where one http2 client allocates (V8's sampling heap profiler, collected objects included).
//   node build/bench/tmp-h2-alloc.js <client index> <connections> <callers> <ms>
import inspector from 'node:inspector/promises';
import { openHttp2Clients } from './cases/http2-clients.js';
import { startH2Venue } from './lib/h2-server.js';
import { runLoad } from './lib/load.js';

interface Node {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: Node[];
}
const [index = '0', connections = '4', callers = '64', ms = '2000'] = process.argv.slice(2);
const venue = await startH2Venue();
const clients = await openHttp2Clients(venue, Number(connections));
const client = clients[Number(index)]!;
await runLoad(client.send, Number(callers), 500);
const session = new inspector.Session();
session.connect();
await session.post('HeapProfiler.startSampling', { samplingInterval: 512, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as never);
const round = await runLoad(client.send, Number(callers), Number(ms));
const { profile } = (await session.post('HeapProfiler.stopSampling')) as unknown as { profile: { head: Node } };
const byFn = new Map<string, number>();
const byFile = new Map<string, number>();
let total = 0;
const walk = (n: Node, stack: string[]) => {
  const cf = n.callFrame;
  const file = cf.url.replace(/^.*\/(build|node_modules)\//, '$1/');
  const key = `${cf.functionName || '(anon)'} ${file.split('/').slice(-2).join('/')}:${cf.lineNumber + 1}`;
  byFn.set(key, (byFn.get(key) ?? 0) + n.selfSize);
  // Charged to the nearest frame of lifeline's or undici's code on the stack, else the file itself.
  const owner = [...stack, file].reverse().find((f) => f.startsWith('build/src') || f.includes('undici')) ?? (file || `(${cf.functionName})`);
  byFile.set(owner, (byFile.get(owner) ?? 0) + n.selfSize);
  total += n.selfSize;
  for (const c of n.children) walk(c, [...stack, file]);
};
walk(profile.head, []);
console.log(`${client.name}: ${round.requests} requests, ${Math.round(total / round.requests)} bytes sampled per request`);
const top = (m: Map<string, number>, n: number) =>
  [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `  ${String(Math.round(v / round.requests)).padStart(6)} B/req  ${k}`).join('\n');
console.log('by the innermost lifeline/undici frame on the stack:\n' + top(byFile, 20));
console.log('by function:\n' + top(byFn, 25));
for (const c of clients) await c.close();
await venue.stop();
