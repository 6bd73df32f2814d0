/**
 * Renders BENCHMARKS.md from the results of a full run: the machine, the date,
 * the command, the targets with pass or miss, and every table. run.ts calls it
 * after a full run; `node build/bench/report.js` re-renders it from
 * bench/results.json alone.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { readResults, type BenchResults } from './lib/results.js';
import { renderMarkdown, type Table } from './lib/table.js';

export const REPORT_PATH = 'BENCHMARKS.md';
/** Hand-written: why a target is missed, with the profile that shows it. Rendered under the targets. */
export const NOTES_PATH = 'bench/notes.md';

function targetsTable(results: BenchResults): Table {
  return {
    title: 'Targets',
    note: 'Judged on the ratios of this one run (medians over rounds).',
    columns: [
      { key: 'result', label: 'result', format: 'text' },
      { key: 'name', label: 'target', format: 'text' },
      { key: 'goal', label: 'goal', format: 'text' },
      { key: 'measured', label: 'measured', format: 'text' },
    ],
    rows: results.cases.flatMap((c) => c.targets.map((t) => ({ ...t, result: t.pass ? 'pass' : '**miss**' }))),
  };
}

export function renderReport(results: BenchResults): string {
  const { machine, settings } = results;
  const lines = [
    '# Benchmarks',
    '',
    `The latest full run of \`${results.command}\` (${results.date.slice(0, 10)}, ${Math.round(results.seconds)} s), generated from`,
    '`bench/results.json` by bench/report.ts; README.md ("Benchmarks") describes the cases.',
    '',
    `- Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memory}; ${machine.os}`,
    `- Node ${machine.node}; server (HTTP and WebSocket) in a forked process, client alone in the measuring process`,
    `- ${settings.rounds} recorded rounds per contender after a warm-up pass, the contenders alternating within one process run,`,
    `  the first of each round rotating; HTTP rounds of ${settings.httpRoundMs} ms, hot-path rounds of ${settings.hotRoundMs} ms;`,
    '  figures are medians over rounds (min and max shown where they matter), ratios are to the reference row.',
    '- On a shared machine a client\'s speed moves from one round to the next (min and max show by how much), so a',
    '  ratio within about 10 % of its bar can land on either side of it in another run.',
    '',
    renderMarkdown(targetsTable(results), '##'),
  ];
  if (existsSync(NOTES_PATH)) lines.push('', readFileSync(NOTES_PATH, 'utf8').trimEnd());
  for (const c of results.cases) {
    lines.push('', `## ${c.title}`);
    for (const table of c.tables) lines.push('', renderMarkdown(table));
  }
  return `${lines.join('\n')}\n`;
}

export function writeReport(results: BenchResults, path = REPORT_PATH): void {
  writeFileSync(path, renderReport(results));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  writeReport(readResults());
  console.log(`${REPORT_PATH} written from bench/results.json`);
}
