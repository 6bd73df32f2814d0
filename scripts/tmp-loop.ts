import { ClientPool } from '../src/index.js';
import { Pool } from 'undici';
import { startNginx } from '../test/peers/real-servers.js';
const nginx = await startNginx({ config: 'keepalive_requests ' + (process.env.KR ?? '10') + ';' });
const which = process.argv[2];
const out: string[] = [];
for (let r = 0; r < 4; r++) {
  for (const w of which === 'both' ? ['lifeline', 'undici'] : [which]) {
    const t0 = process.cpuUsage();
    let done = 0; const end = Date.now() + 1500;
    if (w === 'lifeline') {
      const pool = await ClientPool.connect({ url: nginx.url, connections: 4 });
      await Promise.all(Array.from({ length: 16 }, async () => { while (Date.now() < end) { await pool.request({ path: '/' }); done++; } }));
      await pool.close();
    } else {
      const pool = new Pool(nginx.url, { connections: 4 });
      await Promise.all(Array.from({ length: 16 }, async () => { while (Date.now() < end) { const r = await pool.request({ path: '/', method: 'GET' }); await r.body.arrayBuffer(); done++; } }));
      await pool.close();
    }
    const cpu = process.cpuUsage(t0);
    out.push(`${w} ${(done / 1.5).toFixed(0)} req/s ${((cpu.user + cpu.system) / done).toFixed(0)}us`);
  }
}
console.log(out.join('\n'));
await nginx.stop();
