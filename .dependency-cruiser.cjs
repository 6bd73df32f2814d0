/**
 * The dependency rule of src/ (README, "Source map"), checked by `npm run depcheck` in CI:
 *
 *   machines  <-  transport  <-  pool, feed  ->  telemetry  ->  machines
 *   dashboard -> pool, feed, telemetry;   testing -> anything;   index.ts -> anything
 *
 * The files at the top of src/ (errors, validate, clock, redact, option-table) are leaves every folder may use.
 * No cycles anywhere, and nothing shipped imports tools/, test/ or bench/.
 */
const LEAVES = '^src/(errors|validate|clock|redact|option-table)\\.ts$';
const folder = (name) => `^src/${name}/`;
const allowed = (from, ...to) => ({
  name: `${from}-imports-only-${to.join('-') || 'itself'}`,
  comment: `src/${from} may import ${to.length ? to.map((t) => `src/${t}`).join(', ') + ', ' : ''}itself and the leaf files only`,
  severity: 'error',
  from: { path: folder(from) },
  to: { path: '^src/', pathNot: [folder(from), LEAVES, ...to.map(folder)] },
});

module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', from: { path: '^src/' }, to: { circular: true } },
    {
      name: 'leaves-import-leaves',
      comment: 'errors, validate, clock and redact import no folder of src',
      severity: 'error',
      from: { path: LEAVES },
      to: { path: '^src/[^/]+/' },
    },
    allowed('machines'),
    allowed('transport', 'machines'),
    allowed('telemetry', 'machines'),
    allowed('pool', 'machines', 'transport', 'telemetry'),
    allowed('feed', 'machines', 'transport', 'telemetry'),
    allowed('dashboard', 'pool', 'feed', 'telemetry', 'machines'),
    {
      name: 'shipped-code-stays-shipped',
      comment: 'src/ never imports tools/, test/ or bench/ (they are not in the package)',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(tools|test|bench|scripts|examples)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
