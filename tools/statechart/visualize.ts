/**
 * `npm run visualize`: writes the statecharts of lifeline's machines to
 * visualizations/ (`<machine>.mmd` and `<machine>.svg`), generated from the
 * machine definitions, and the dashboard's generated modules (its charts, and
 * its page script compiled from src/dashboard/client/page-script.ts).
 * `npm run visualize -- --check` writes nothing and exits 1, listing the files
 * that differ from what their sources generate.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { staleFiles, visualizationFiles } from './visualize-files.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const args = process.argv.slice(2);

if (args.some((arg) => arg !== '--check')) {
  console.error('usage: tsx tools/statechart/visualize.ts [--check]');
  process.exit(2);
}

if (args.includes('--check')) {
  const stale = staleFiles(root);
  if (stale.length) {
    console.error(`Generated files out of date with their sources (run \`npm run visualize\`):\n${stale.map((path) => `  ${path}`).join('\n')}`);
    process.exit(1);
  }
  console.log('Generated files up to date.');
} else {
  for (const file of visualizationFiles(root)) {
    const path = join(root, file.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, file.content);
    console.log(`wrote ${file.path}`);
  }
}
