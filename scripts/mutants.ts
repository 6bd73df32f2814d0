/**
 * `npm run mutants [-- --only id,id] [--list]`: mutation testing of src/machines (issue 17,
 * item 9). Each mutant of scripts/mutants/list.ts is applied alone, the model tests that
 * watch its file are run against it (stopping at the first failure), and the file is put
 * back; then a table says which test killed each mutant, or that it survived. Exits 1 if
 * any survived or is stale (its line is no longer in the code). Not part of `npm test`:
 * it runs the model suites once per mutant, minutes on a small machine.
 *
 * Patch and restore, never left modified: it refuses to start while git shows src/machines
 * modified (the original is then the committed file), restores in `finally`, on SIGINT,
 * SIGTERM and on exit, and checks git again at the end.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { MUTANTS, type Mutant } from './mutants/list.js';

const MACHINES = 'src/machines';

const { values } = parseArgs({ options: { only: { type: 'string' }, list: { type: 'boolean', default: false } } });
const chosen = values.only ? MUTANTS.filter((m) => values.only!.split(',').includes(m.id)) : MUTANTS;
if (values.list) {
  for (const m of MUTANTS) console.log(`${m.id.padEnd(30)} ${m.file.padEnd(14)} ${m.what}`);
  process.exit(0);
}
if (chosen.length === 0) {
  console.error(`no mutant matches --only ${values.only}; see --list`);
  process.exit(2);
}

function modifiedMachines(): string {
  return execFileSync('git', ['status', '--porcelain', '--', MACHINES], { encoding: 'utf8' }).trim();
}

const dirty = modifiedMachines();
if (dirty) {
  console.error(`refusing to start: ${MACHINES} has changes git does not have, which a mutant would be applied to and a restore could mix up:\n${dirty}`);
  process.exit(2);
}

/** The file under mutation and its original text, while one is applied. */
let applied: { file: string; original: string } | undefined;
let child: ChildProcess | undefined;

function restore(): void {
  if (!applied) return;
  writeFileSync(applied.file, applied.original);
  applied = undefined;
}

process.on('exit', restore);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    // vitest and its workers are a process group of their own: end all of it.
    if (child?.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
    restore();
    console.error(`\n${signal}: ${MACHINES} restored`);
    process.exit(130);
  });
}

interface Outcome {
  mutant: Mutant;
  result: 'killed' | 'survived' | 'stale';
  /** The first failing test, as `file > name`. */
  by: string;
  seconds: number;
}

interface JsonReport {
  testResults?: { name: string; message?: string; assertionResults?: { fullName: string; status: string }[] }[];
}

/** Runs `tests` with vitest, stopping at the first failure; answers the failing test, or undefined when all passed. */
async function runTests(tests: string[], report: string): Promise<string | undefined> {
  const args = ['run', ...tests, '--bail=1', '--maxWorkers=1', '--reporter=json', `--outputFile=${report}`];
  const code = await new Promise<number>((resolve) => {
    child = spawn(path.join('node_modules', '.bin', 'vitest'), args, { stdio: 'ignore', detached: true });
    child.on('exit', (status) => resolve(status ?? 1));
  });
  child = undefined;
  if (code === 0) return undefined;
  let parsed: JsonReport = {};
  try {
    parsed = JSON.parse(readFileSync(report, 'utf8')) as JsonReport;
  } catch {}
  for (const file of parsed.testResults ?? []) {
    const failed = file.assertionResults?.find((a) => a.status === 'failed');
    if (failed) return `${path.relative(process.cwd(), file.name)} > ${failed.fullName}`;
    if (file.message) return `${path.relative(process.cwd(), file.name)} (the file failed: ${file.message.split('\n')[0]})`;
  }
  return `vitest exited ${code}`;
}

async function tryMutant(mutant: Mutant, report: string): Promise<Outcome> {
  const started = performance.now();
  const file = path.join(MACHINES, mutant.file);
  const original = readFileSync(file, 'utf8');
  const at = original.indexOf(mutant.find);
  if (at < 0 || original.indexOf(mutant.find, at + 1) >= 0) {
    return { mutant, result: 'stale', by: `its line is ${at < 0 ? 'not' : 'more than once'} in ${file}`, seconds: 0 };
  }
  applied = { file, original };
  try {
    writeFileSync(file, original.slice(0, at) + mutant.replace + original.slice(at + mutant.find.length));
    const by = await runTests(mutant.tests, report);
    const seconds = (performance.now() - started) / 1000;
    return by === undefined ? { mutant, result: 'survived', by: '', seconds } : { mutant, result: 'killed', by, seconds };
  } finally {
    restore();
  }
}

const scratch = mkdtempSync(path.join(tmpdir(), 'lifeline-mutants-'));
const outcomes: Outcome[] = [];
try {
  for (const [i, mutant] of chosen.entries()) {
    process.stdout.write(`[${i + 1}/${chosen.length}] ${mutant.id} ... `);
    const outcome = await tryMutant(mutant, path.join(scratch, `${mutant.id}.json`));
    outcomes.push(outcome);
    console.log(`${outcome.result} (${outcome.seconds.toFixed(1)} s)`);
  }
} finally {
  restore();
  rmSync(scratch, { recursive: true, force: true });
}

const left = modifiedMachines();
if (left) {
  console.error(`${MACHINES} is modified after the run; this is a bug of the script:\n${left}`);
  process.exitCode = 1;
}

const rows = outcomes.map((o) => [o.mutant.id, o.mutant.what, o.result, o.by]);
console.log('\n| mutant | what | result | killed by |\n|---|---|---|---|');
for (const row of rows) console.log(`| ${row.join(' | ')} |`);
const bad = outcomes.filter((o) => o.result !== 'killed');
console.log(`\n${outcomes.length - bad.length}/${outcomes.length} killed${bad.length ? `; not killed: ${bad.map((o) => `${o.mutant.id} (${o.result})`).join(', ')}` : ''}`);
if (bad.length) process.exitCode = 1;
