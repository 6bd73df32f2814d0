/**
 * The dashboard page's script is compiled from its type-checked source
 * (src/dashboard/client/page-script.ts) into one inline script: types stripped,
 * nothing else changed, and refused when it could not run as one script or
 * would break out of its `<script>` element. Freshness of the generated module
 * is checked with the charts (visualizations.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { compilePageScript } from '../../tools/statechart/page-script.js';

describe('compilePageScript', () => {
  it('strips types and type imports, and leaves the code as written', () => {
    const source = [
      "import type { PageView } from '../protocol.js';",
      '/** A doc comment. */',
      'const views: PageView[] = [];',
      'function count(view: PageView): number { return view.pools.length; }',
      "document.title = String(views.map(count)) + ' \\u2192 ';",
      '',
    ].join('\n');
    expect(compilePageScript(source)).toBe(
      ['const views = [];', 'function count(view) { return view.pools.length; }', "document.title = String(views.map(count)) + ' \\u2192 ';", ''].join('\n'),
    );
  });

  it('refuses a value import or an export: the inlined script has no loader', () => {
    expect(() => compilePageScript("import { LOG_ROWS } from '../page.js';\nconsole.log(LOG_ROWS);\n")).toThrow(/types only.*import \{ LOG_ROWS \}/);
    expect(() => compilePageScript("import '../page.js';\n")).toThrow(/types only/);
    expect(() => compilePageScript('export const x = 1;\n')).toThrow(/types only.*export const x/);
    expect(() => compilePageScript('const x = 1;\nexport { x };\n')).toThrow(/types only/);
    // A type-only export is erased like a type-only import.
    expect(compilePageScript('export type X = number;\nconst x: X = 1;\n')).toBe('const x = 1;\n');
  });

  it('refuses text that would end or confuse the <script> element', () => {
    expect(() => compilePageScript("document.title = '</script><script>alert(1)</script>';\n")).toThrow(/<\/script/);
    expect(() => compilePageScript("document.title = '</SCRIPT >';\n")).toThrow(/<\/SCRIPT/);
    expect(() => compilePageScript("document.title = '<!--';\n")).toThrow(/<!--/);
  });

  it('refuses a source that does not parse', () => {
    expect(() => compilePageScript('const = ;\n')).toThrow(/does not compile/);
  });
});
