/**
 * The README's pictures of the dashboard must show on the npm registry too, where
 * the README is shown without the repository (visualizations/ is not packed): so
 * each is an absolute URL of a file on the main branch, and that file is committed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const RAW = 'https://raw.githubusercontent.com/lifeline-supervisor/lifeline-supervisor/main/';

describe("the README's dashboard pictures", () => {
  it('are absolute URLs of files in the repository', () => {
    const readme = readFileSync('README.md', 'utf8');
    const section = readme.slice(readme.indexOf('\n## Dashboard\n'), readme.indexOf('\n## ', readme.indexOf('\n## Dashboard\n') + 1));
    const pictures = [...section.matchAll(/!\[[^\]]*\]\(([^)\s]+)\)/g)].map((match) => match[1]!);
    expect(pictures.length).toBeGreaterThanOrEqual(2);
    for (const url of pictures) {
      expect(url.startsWith(RAW), url).toBe(true);
      const path = url.slice(RAW.length).split('?')[0]!;
      expect(existsSync(path), `${path} is not in the repository`).toBe(true);
    }
  });
});
