/**
 * Case 5: memory. Heap per idle pool slot and per idle feed, from `count` of
 * each held at once after a forced GC, against undici Pool connections and
 * bare ws clients. Each kind is measured in its own child process (run with
 * --expose-gc), against the bench server, on 127.0.0.1, and closed after.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import type { BenchCase } from '../lib/case.js';
import type { Kind, MemoryReport } from './memory-child.js';

/** Each lifeline kind and the reference it is compared with. */
const PAIRS: { kind: Kind; label: string; reference: Kind }[] = [
  { kind: 'lifeline-slots', label: 'lifeline pool slot (idle, never used)', reference: 'undici-connections' },
  { kind: 'lifeline-slots-served', label: 'lifeline pool slot (idle, after a request)', reference: 'undici-connections' },
  { kind: 'undici-connections', label: 'undici Pool connection (idle, after a request)', reference: 'undici-connections' },
  { kind: 'lifeline-feeds', label: 'lifeline feed (idle, history: 100)', reference: 'ws-clients' },
  { kind: 'ws-clients', label: 'bare ws client (idle)', reference: 'ws-clients' },
];

async function measure(kind: Kind, port: number, count: number): Promise<MemoryReport> {
  const child = fork(new URL('./memory-child.js', import.meta.url), [kind, String(port), String(count)], {
    execArgv: ['--expose-gc'],
  });
  const exited = once(child, 'exit');
  const [report] = (await Promise.race([once(child, 'message'), exited.then(() => [undefined])])) as [MemoryReport | undefined];
  const [code] = (await exited) as [number | null];
  if (!report || code !== 0) throw new Error(`bench: the memory child for ${kind} failed (exit code ${code})`);
  return report;
}

export const memoryCase: BenchCase = {
  name: 'memory',
  title: 'Memory',
  async run(context) {
    const count = context.settings.memoryCount;
    const reports = new Map<Kind, MemoryReport>();
    for (const { kind } of PAIRS) reports.set(kind, await measure(kind, context.server.port, count));
    context.table({
      title: `heap per idle connection, ${count.toLocaleString('en-US')} held at once, after a forced GC`,
      note: 'Pool slots in 4 pools; each kind in its own `node --expose-gc` child process. Ratio: to the undici connection or the bare ws client.',
      columns: [
        { key: 'label', label: 'held', format: 'text' },
        { key: 'heap', label: 'heap KiB each', format: 'num' },
        { key: 'ratio', label: 'ratio', format: 'ratio' },
        { key: 'external', label: 'external KiB each', format: 'num' },
      ],
      rows: PAIRS.map(({ kind, label, reference }) => {
        const report = reports.get(kind)!;
        return {
          label,
          heap: report.heap / 1024,
          ratio: report.heap / reports.get(reference)!.heap,
          external: report.external / 1024,
          count: report.count,
        };
      }),
    });
  },
};
