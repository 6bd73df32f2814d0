/**
 * `npm run visualize`: writes the statecharts of lifeline's machines to
 * visualizations/ (`<machine>.mmd` and `<machine>.svg`), generated from the
 * machine definitions. `npm run visualize -- --check` writes nothing and exits
 * 1, listing the files that differ from what the definitions generate.
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
    console.error(`Statecharts out of date with the machine definitions (run \`npm run visualize\`):\n${stale.map((path) => `  ${path}`).join('\n')}`);
    process.exit(1);
  }
  console.log('Statecharts up to date.');
} else {
  for (const file of visualizationFiles()) {
    const path = join(root, file.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, file.content);
    console.log(`wrote ${file.path}`);
  }
}
