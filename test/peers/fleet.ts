/**
 * One process of a fleet sharing a Redis budget (test/fixtures/fleet-process.ts, run with tsx), its
 * last line of JSON read back. No vitest here: the bench runs the same fleet.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sep } from 'node:path';

// The fixture runs from the source tree, also when this file runs compiled into build/ (the bench).
const FIXTURE = fileURLToPath(new URL('../fixtures/fleet-process.ts', import.meta.url)).replace(`${sep}build${sep}test${sep}`, `${sep}test${sep}`);

export interface FleetProcessResult {
  sent: number;
  refused: number;
  stats: { store: string; degradations: number };
}

/** Runs the fixture with `args` (REDIS_URL VENUE_URL KEY CAP PER START DURATION [TIMEOUT]); rejects if it exits other than 0. */
export function runFleetProcess(args: string[]): Promise<FleetProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`fleet process exited ${code}: ${err}${out}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!) as FleetProcessResult);
    });
  });
}
