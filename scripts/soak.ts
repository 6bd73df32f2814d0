/**
 * `npm run soak -- --seconds N [--seed S]`: the chaos soak of test/chaos/soak.ts
 * for as long as asked (default 60 s), with a progress line every 10 s and the
 * summary line at the end. Exits 1 if any rule was broken (each violation is
 * printed), or if something still holds the process open 5 s after the soak.
 */
import { parseArgs } from 'node:util';
import { formatSummary, runSoak } from '../test/chaos/soak.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '60' }, seed: { type: 'string' } } });
const seconds = Number(values.seconds);
const seed = values.seed === undefined ? Math.floor(Math.random() * 0x7fffffff) : Number(values.seed);
if (!(seconds > 0) || !Number.isInteger(seed)) {
  console.error('usage: npm run soak -- --seconds N [--seed S]   (N > 0, S an integer)');
  process.exit(2);
}

console.log(`chaos soak: seed ${seed}, ${seconds} s (replay with --seed ${seed})`);
const summary = await runSoak({ seconds, seed, progress: (line) => console.log(line) });
console.log(formatSummary(summary));
for (const violation of summary.violations) console.error(`violation: ${violation}`);
process.exitCode = summary.violations.length > 0 ? 1 : 0;

// Everything was closed: the process should exit on its own. If it does not, say what holds it.
setTimeout(() => {
  const held = process.getActiveResourcesInfo().filter((resource) => resource !== 'TTYWrap');
  console.error(`the process is still held open 5 s after the soak: ${held.join(', ')}`);
  process.exit(1);
}, 5_000).unref();
