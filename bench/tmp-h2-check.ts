// Scratch: what undici's Pool speaks to the http2 case's TLS server, with and without allowH2 / pipelining
// (bench/notes.md, "The http2 case"). npx tsc -p tsconfig.bench.json && node build/bench/tmp-h2-check.js
import { Pool } from 'undici';
import { startH2Venue } from './lib/h2-server.js';

const venue = await startH2Venue();
async function probe(label: string, options: Pool.Options) {
  const pool = new Pool(venue.h2Origin, { connections: 1, connect: { ca: venue.ca }, ...options });
  const before = await venue.counts();
  let maxInFlight = 0;
  let inFlight = 0;
  let outcome = 'ok';
  try {
    await Promise.all(Array.from({ length: 50 }, async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const res = await pool.request({ path: '/', method: 'GET', headersTimeout: 3000 });
      await res.body.arrayBuffer();
      inFlight--;
    }));
  } catch (error) {
    outcome = `failed: ${(error as Error & { code?: string }).code ?? ''} ${(error as Error).message}`;
  }
  const after = await venue.counts();
  console.log(`${label}: ${outcome}; server: h2 streams +${after.h2Streams - before.h2Streams}, sessions +${after.h2Sessions - before.h2Sessions}, no-h2 connections +${after.h2Refused - before.h2Refused}, peak streams at once ${after.h2PeakStreams}`);
  await pool.destroy();
}
// Streams at once per connection, as the server sees them: a server-side gauge.
await probe('Pool, no allowH2', {});
await probe('Pool allowH2, default pipelining', { allowH2: true });
await probe('Pool allowH2, pipelining 100', { allowH2: true, pipelining: 100 });
await venue.stop();
