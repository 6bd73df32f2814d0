/**
 * The shape shared by the throughput tables: per contender a rate's median,
 * min and max over rounds, and the median's ratio to the reference contender's.
 */
import { summarize, type Summary } from './stats.js';
import type { Column, Row } from './table.js';

export interface Compared {
  name: string;
  rate: Summary;
  /** This median over the reference's median. */
  ratio: number;
}

/** Summarizes each contender's rate samples against `reference`, in the contenders' order. */
export function compareRates(samples: Map<string, number[]>, reference: string): Compared[] {
  const rates = [...samples].map(([name, xs]) => ({ name, rate: summarize(xs) }));
  const base = rates.find((r) => r.name === reference);
  if (!base) throw new Error(`bench: no reference contender ${reference}`);
  return rates.map((r) => ({ ...r, ratio: r.rate.median / base.rate.median }));
}

/** The leading columns: who, the rate (median, min, max) in `unit`, the ratio. */
export function rateColumns(subject: string, unit: string): Column[] {
  return [
    { key: 'contender', label: subject, format: 'text' },
    { key: 'rate', label: `${unit} median`, format: 'int' },
    { key: 'min', label: 'min', format: 'int' },
    { key: 'max', label: 'max', format: 'int' },
    { key: 'ratio', label: 'ratio', format: 'ratio' },
  ];
}

export function rateRow(compared: Compared): Row {
  const { name, rate, ratio } = compared;
  return { contender: name, rate: rate.median, min: rate.min, max: rate.max, ratio, samples: rate.samples };
}

/** The ratio of `name` from a comparison (the targets read them). */
export function ratioOf(compared: Compared[], name: string): number {
  const found = compared.find((c) => c.name === name);
  if (!found) throw new Error(`bench: no contender ${name}`);
  return found.ratio;
}
