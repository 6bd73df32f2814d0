/**
 * The statechart files kept in visualizations/: Mermaid and SVG for each of
 * lifeline's machines. `npm run visualize` (scripts/visualize.ts) writes them
 * and test/visualizations.test.ts fails when they are stale, both through
 * here, so the files are exactly what the definitions generate.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AnyStateMachine } from 'xstate';
import { feedMachine } from '../machines/feed.js';
import { slotMachine } from '../machines/slot.js';
import { supervisorMachine } from '../machines/supervisor.js';
import { toMermaid, toSvg } from './statechart.js';

/** The folder, relative to the repository root. */
export const VISUALIZATIONS_DIR = 'visualizations';

/** The machines charted, by file name. */
export const CHARTED_MACHINES: Record<string, AnyStateMachine> = {
  slot: slotMachine,
  feed: feedMachine,
  supervisor: supervisorMachine,
};

export interface GeneratedFile {
  /** Relative to the repository root, with `/`. */
  path: string;
  content: string;
}

/** Every file visualizations/ should hold, in a fixed order. */
export function visualizationFiles(): GeneratedFile[] {
  return Object.entries(CHARTED_MACHINES).flatMap(([name, machine]) => [
    { path: `${VISUALIZATIONS_DIR}/${name}.mmd`, content: toMermaid(machine) },
    { path: `${VISUALIZATIONS_DIR}/${name}.svg`, content: toSvg(machine) },
  ]);
}

/** The paths of the files under `root` that are missing or differ from what the definitions generate. */
export function staleFiles(root: string): string[] {
  return visualizationFiles()
    .filter((file) => {
      try {
        return readFileSync(join(root, file.path), 'utf8') !== file.content;
      } catch {
        return true;
      }
    })
    .map((file) => file.path);
}
