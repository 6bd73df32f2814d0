/**
 * lifeline's benchmarks: each case alternates its contenders within this one
 * process run, repeats, and prints medians, min, max and the ratio to the
 * reference; the targets are judged as pass or miss. The HTTP and
 * WebSocket server runs in a forked process, so the client has its own core.
 *
 *   npm run bench                     # full, a few minutes; writes bench/results.json and BENCHMARKS.md
 *   npm run bench -- --quick          # smoke run (CI), under a minute; figures printed, not judged, not written
 *   npm run bench -- --case hot-path  # one case (http, http2, fetch, hot-path, healing, stale, storm, lifecycle, governor, feeds, feeds-deflate, memory); printed only
 *   npm run bench -- --case http2 --markdown  # its tables printed as Markdown, for a section added to BENCHMARKS.md by hand
 *
 * It runs compiled JavaScript (tsc into build/), not tsx: a loader's transform
 * (esbuild's keepNames wrappers) would tax lifeline's code and not undici's.
 * A missed target never fails the run; only a crash does.
 */
import { parseArgs } from 'node:util';
import type { BenchCase } from './lib/case.js';
import { describeMachine } from './lib/machine.js';
import { writeResults, type BenchResults, type CaseResult } from './lib/results.js';
import { startBenchServer } from './lib/server-process.js';
import { settingsFor } from './lib/settings.js';
import { renderMarkdown, renderText } from './lib/table.js';
import { writeReport } from './report.js';
import { feedsCase } from './cases/feeds.js';
import { feedsDeflateCase } from './cases/feeds-deflate.js';
import { fetchCase } from './cases/fetch.js';
import { governorCase } from './cases/governor.js';
import { healingCase } from './cases/healing.js';
import { hotPathCase } from './cases/hot-path.js';
import { httpCase } from './cases/http.js';
import { http2Case } from './cases/http2.js';
import { lifecycleCase } from './cases/lifecycle.js';
import { memoryCase } from './cases/memory.js';
import { staleCase } from './cases/stale.js';
import { stormCase } from './cases/storm.js';

const CASES: BenchCase[] = [httpCase, http2Case, fetchCase, hotPathCase, healingCase, staleCase, lifecycleCase, stormCase, governorCase, feedsCase, feedsDeflateCase, memoryCase];

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, case: { type: 'string' }, markdown: { type: 'boolean', default: false } },
});
const selected = values.case === undefined ? CASES : CASES.filter((c) => c.name === values.case);
if (selected.length === 0) {
  console.error(`bench: unknown case ${values.case}; one of ${CASES.map((c) => c.name).join(', ')}`);
  process.exit(2);
}
const settings = settingsFor(values.quick);
const machine = describeMachine();
const started = performance.now();
console.log(
  `lifeline bench (${settings.quick ? 'quick: figures not judged' : 'full'}), ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}`,
);

const server = await startBenchServer();
const cases: CaseResult[] = [];
try {
  for (const benchCase of selected) {
    const result: CaseResult = { name: benchCase.name, title: benchCase.title, tables: [], targets: [] };
    cases.push(result);
    console.log(`\n== ${benchCase.title} (${benchCase.name})`);
    await benchCase.run({
      settings,
      server,
      table(table) {
        result.tables.push(table);
        console.log(`\n${values.markdown ? renderMarkdown(table) : renderText(table)}`);
      },
      target(target) {
        result.targets.push(target);
      },
    });
  }
} finally {
  await server.stop();
}

const seconds = (performance.now() - started) / 1e3;
const targets = cases.flatMap((c) => c.targets);
if (targets.length > 0) {
  console.log(`\n== Targets${settings.quick ? ' (quick run: shown, not judged)' : ''}`);
  for (const t of targets) console.log(`  ${t.pass ? 'pass' : 'MISS'}  ${t.name}: ${t.measured} (goal ${t.goal})`);
}
console.log(`\n${selected.length} case(s) in ${seconds.toFixed(1)} s`);

// Only a full run of every case is written: BENCHMARKS.md shows one run, and a
// smoke or partial run must not overwrite it.
if (!settings.quick && values.case === undefined) {
  const command = 'npm run bench';
  const results: BenchResults = { date: new Date().toISOString(), command, machine, settings, seconds, cases };
  writeResults(results);
  writeReport(results);
  console.log('results written to bench/results.json and BENCHMARKS.md');
}
