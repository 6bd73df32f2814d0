import { ClientPool } from '../src/index.js';
import { startFaultHttpServer } from '../src/testing/index.js';
const server = await startFaultHttpServer();
server.closeAfter(5);
const pool = await ClientPool.connect({ url: server.url, connections: 4 });
let turn = 0; let stop = false;
const tick = () => { turn++; if (!stop) setImmediate(tick); }; tick();
const log: string[] = [];
pool.actor.getSnapshot().context.slots.forEach((slot, i) => slot.subscribe((s) => log.push(`t${turn} slot${i} ${s.value} (${(s.context as any).cause})`)));
let failed = 0; let ok = 0;
await Promise.all(Array.from({ length: 8 }, async (_, c) => {
  for (let i = 0; i < 20; i++) {
    const lease = pool.tryAcquire() ?? (await pool.acquire());
    const t = turn;
    try { await lease.request({ path: '/' }); ok++; }
    catch (e: any) { failed++; log.push(`t${turn} FAIL slot${lease.slot} granted t${t}: ${e.code} ${e.delivery} ${e.message}`); }
    finally { lease.release(); }
  }
}));
stop = true;
console.log(ok, failed); console.log(log.filter((l, i, a) => l.includes('FAIL') || a[i + 1]?.includes('FAIL') || a[i + 2]?.includes('FAIL') || a[i-1]?.includes('FAIL')).slice(0, 30).join('\n'));
await pool.close(); await server.close();
