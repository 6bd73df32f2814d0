/** What a benchmark case is given, and what it is. */
import type { Target } from './results.js';
import type { BenchServer } from './server-process.js';
import type { Settings } from './settings.js';
import type { Table } from './table.js';

export interface CaseContext {
  settings: Settings;
  /** The forked HTTP + WebSocket server (the healing cases start their own fault servers). */
  server: BenchServer;
  /** Records a table and prints it at once, so a long case shows progress. */
  table(table: Table): void;
  /** Records a target judged on this run. */
  target(target: Target): void;
}

export interface BenchCase {
  /** The `--case` name. */
  name: string;
  title: string;
  run(context: CaseContext): Promise<void>;
}
