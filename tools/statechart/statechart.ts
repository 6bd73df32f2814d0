/**
 * Statecharts drawn from lifeline's machine definitions, for the README, the
 * dashboard and anyone reading a machine: Mermaid source (`toMermaid`) and a
 * self-contained SVG laid out here (`toSvg`). Both draw the same chart
 * (tools/statechart/chart.ts); `npm run visualize` writes them to visualizations/.
 */
export { toMermaid } from './mermaid.js';
export { toSvg, type SvgOptions } from './svg.js';
