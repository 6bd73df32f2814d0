/**
 * A loopback venue that counts what arrived (test/fixtures/arrival-server.ts, its own process, run
 * with tsx): each request's arrival time, as a venue counts it, and the most that any span of `per`
 * ms held. No vitest here: the bench imports it too; tests use test/helpers/arrivals.ts.
 */
import { spawn } from 'node:child_process';
import { sep } from 'node:path';
import { fileURLToPath } from 'node:url';

// The fixture runs from the source tree, also when this file runs compiled into build/ (the bench).
const FIXTURE = fileURLToPath(new URL('../fixtures/arrival-server.ts', import.meta.url)).replace(`${sep}build${sep}test${sep}`, `${sep}test${sep}`);

export interface ArrivalServer {
  url: string;
  /** Arrival times so far, ms since the epoch. */
  arrivals(): Promise<number[]>;
  /** Ends its process; idempotent. */
  stop(): void;
}

export async function launchArrivalServer(): Promise<ArrivalServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], { stdio: ['pipe', 'pipe', 'inherit'] });
  const stop = () => {
    child.stdin.end();
    child.kill();
  };
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const found = /port (\d+)/.exec(out);
      if (found) resolve(Number(found[1]));
    });
    child.once('exit', (code) => reject(new Error(`arrival server exited (${code})`)));
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    async arrivals() {
      const response = await fetch(`${url}/__arrivals`);
      return (await response.json()) as number[];
    },
    stop,
  };
}

/** The most arrivals in any half-open span [t, t + per): two pointers over sorted times. */
export function maxInWindow(times: readonly number[], per: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while (sorted[end]! - sorted[start]! >= per) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}
