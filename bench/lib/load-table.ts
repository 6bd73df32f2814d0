/**
 * The table of a closed-loop HTTP load: per contender its req/s (median, min, max, ratio to the
 * reference), and the medians over rounds of each round's p50, p99 and client CPU per request.
 * The http and fetch cases share it.
 */
import type { CaseContext } from './case.js';
import { compareRates, rateColumns, rateRow, type Compared } from './compare.js';
import type { LoadRound } from './load.js';
import { median } from './stats.js';
import type { Column } from './table.js';

const COLUMNS: Column[] = [
  ...rateColumns('client', 'req/s'),
  { key: 'p50', label: 'p50 us', format: 'num' },
  { key: 'p99', label: 'p99 us', format: 'num' },
  { key: 'cpu', label: 'CPU us/req', format: 'num' },
];

export interface LoadComparison {
  compared: Compared[];
  /** The median over rounds of one contender's figure. */
  medianOf(name: string, key: 'p50' | 'p99' | 'cpuPerRequest'): number;
}

/** Records the table of `rounds` (each contender's load rounds) under `title`, against `reference`. */
export function recordLoadTable(context: CaseContext, title: string, rounds: Map<string, LoadRound[]>, reference: string): LoadComparison {
  const compared = compareRates(new Map([...rounds].map(([name, xs]) => [name, xs.map((x) => x.requestsPerSecond)])), reference);
  const medianOf = (name: string, key: 'p50' | 'p99' | 'cpuPerRequest') => median(rounds.get(name)!.map((x) => x[key]));
  context.table({
    title,
    columns: COLUMNS,
    rows: compared.map((c) => ({
      ...rateRow(c),
      p50: medianOf(c.name, 'p50'),
      p99: medianOf(c.name, 'p99'),
      cpu: medianOf(c.name, 'cpuPerRequest'),
      rounds: rounds.get(c.name),
    })),
  });
  return { compared, medianOf };
}
