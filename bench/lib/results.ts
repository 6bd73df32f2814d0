/**
 * What a run produces: per case its tables and the targets judged on
 * it, plus where and how it was run. A full run of every case writes it to
 * bench/results.json, from which BENCHMARKS.md is rendered.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Machine } from './machine.js';
import type { Settings } from './settings.js';
import type { Table } from './table.js';

/** One target from the issue, judged on this run's ratios. */
export interface Target {
  name: string;
  /** The bar, in words: `>= 1.00x undici Pool.request req/s, p99 <= 1.00x`. */
  goal: string;
  /** What this run measured, in the goal's terms. */
  measured: string;
  pass: boolean;
}

export interface CaseResult {
  name: string;
  title: string;
  tables: Table[];
  targets: Target[];
}

export interface BenchResults {
  date: string;
  command: string;
  machine: Machine;
  settings: Settings;
  /** Wall-clock seconds of the whole run. */
  seconds: number;
  cases: CaseResult[];
}

export const RESULTS_PATH = 'bench/results.json';

export function writeResults(results: BenchResults, path = RESULTS_PATH): void {
  writeFileSync(path, `${JSON.stringify(results, null, 2)}\n`);
}

export function readResults(path = RESULTS_PATH): BenchResults {
  return JSON.parse(readFileSync(path, 'utf8')) as BenchResults;
}
