/**
 * The http2 case's reload row (issue 19: zero failed requests across nginx reloads). Debian's nginx
 * with its http2 module over TLS (test/peers/nginx-h2.ts, on a test CA of its own), reloaded every
 * 2 s while 64 callers send GETs one after another through each client in turn, 4 connections each:
 * lifeline h2, undici's Pool with allowH2, lifeline h1 (the clients of http2-clients.ts). A reload's
 * old workers send each HTTP/2 connection a GOAWAY (NO_ERROR) and exit once its streams end; an
 * HTTP/1.1 connection gets a close. Per client: requests, failed (and why), req/s, reloads.
 * A missing nginx (or one without http_v2) skips the row, as the lifecycle case does.
 */
import { performance } from 'node:perf_hooks';
import { available } from '../../test/peers/real-servers.js';
import { startNginxH2, type NginxH2 } from '../../test/peers/nginx-h2.js';
import { drive, rateOf, tallyFigures, type Tally } from '../lib/callers.js';
import type { CaseContext } from '../lib/case.js';
import type { H2Venue, ServerCounts } from '../lib/h2-server.js';
import { sleep, within } from '../lib/wait.js';
import { LIFELINE_H2, openHttp2Clients } from './http2-clients.js';

const CONNECTIONS = 4;
const CALLERS = 64;
const RELOAD_EVERY_MS = 2_000;

/** nginx as the clients' venue: one port speaks both (ALPN h2 and http/1.1); its counts are not read here. */
function nginxVenue(nginx: NginxH2): H2Venue {
  return {
    h2Origin: nginx.url,
    h1Origin: nginx.url,
    ca: nginx.ca,
    counts: () => Promise.reject(new Error('bench http2: the reload row reads no server counts')) as Promise<ServerCounts>,
    stop: () => nginx.stop(),
  };
}

interface ReloadOutcome {
  client: string;
  tally: Tally;
  reloads: number;
  reloadErrors: number;
}

/** One client's run: `durationMs` of load, a reload every RELOAD_EVERY_MS; each client on a fresh nginx. */
async function underReloads(name: string, durationMs: number): Promise<ReloadOutcome> {
  const nginx = await startNginxH2();
  try {
    const clients = await openHttp2Clients(nginxVenue(nginx), CONNECTIONS);
    try {
      const client = clients.find((c) => c.name === name)!;
      const start = performance.now();
      let reloadErrors = 0;
      const reloader = (async () => {
        for (let k = 1; k * RELOAD_EVERY_MS < durationMs; k++) {
          await sleep(Math.max(0, start + k * RELOAD_EVERY_MS - performance.now()));
          await nginx.reload().catch(() => reloadErrors++);
        }
      })();
      const tally = await drive(() => client.send() as Promise<void>, { callers: CALLERS, durationMs, grace: 5_000 });
      await within(reloader, 15_000);
      return { client: name, tally, reloads: nginx.reloads, reloadErrors };
    } finally {
      for (const client of clients) await client.close();
    }
  } finally {
    await nginx.stop();
  }
}

export async function reloadRow(context: CaseContext, clientNames: readonly string[]): Promise<void> {
  if (!available('nginx')) {
    console.log('\n(skipped: nginx is not installed)');
    return;
  }
  const durationMs = context.settings.quick ? 4_500 : 12_000;
  const outcomes: ReloadOutcome[] = [];
  for (const name of clientNames) outcomes.push(await underReloads(name, durationMs));
  context.table({
    title: `nginx http2 over TLS, reloaded every ${RELOAD_EVERY_MS / 1e3} s under load`,
    note:
      `Debian's nginx (2 workers, a test CA made for the run), ${CONNECTIONS} connections and ${CALLERS} callers sending GETs one after another ` +
      `for ${durationMs / 1e3} s per client, each client on a fresh nginx; failed: a request that did not get its 200, or was still pending 5 s after the round.`,
    columns: [
      { key: 'client', label: 'client', format: 'text' },
      { key: 'requests', label: 'requests', format: 'int' },
      { key: 'failed', label: 'failed', format: 'int' },
      { key: 'why', label: 'why', format: 'text' },
      { key: 'rate', label: 'req/s', format: 'num' },
      { key: 'reloads', label: 'reloads', format: 'int' },
    ],
    rows: outcomes.map((o) => {
      const figures = tallyFigures(o.tally);
      return { client: o.client, requests: figures.requests, failed: figures.failed, why: figures.why, rate: rateOf(o.tally), reloads: o.reloads - o.reloadErrors };
    }),
  });
  const ours = outcomes.find((o) => o.client === LIFELINE_H2)!;
  context.target({
    name: 'http2: nginx reloaded under load, lifeline h2',
    goal: '0 failed requests across the reloads',
    measured: `${ours.tally.failed} failed of ${ours.tally.requests}, ${ours.reloads - ours.reloadErrors} reloads`,
    pass: ours.tally.requests > 0 && ours.tally.failed === 0 && ours.reloads - ours.reloadErrors > 0,
  });
}
