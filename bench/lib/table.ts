/**
 * Tables: what a case measured, as rows of raw numbers plus the columns to
 * show. The same table prints to the terminal and renders into BENCHMARKS.md;
 * results.json keeps the raw numbers.
 */

/** How a column's numbers are shown. */
export type Format =
  | 'text'
  /** A count or a rate: thousands separators, no decimals. */
  | 'int'
  /** A duration or a size: two significant decimals below 10, one below 100, none above. */
  | 'num'
  /** A ratio to the reference: `1.23x`. */
  | 'ratio';

export interface Column {
  key: string;
  label: string;
  format: Format;
}

/** Keys beyond the columns (e.g. raw samples) are kept in results.json and not shown. */
export type Row = Record<string, unknown>;

export interface Table {
  title: string;
  /** A sentence on what was measured and how, shown under the title. */
  note?: string;
  columns: Column[];
  rows: Row[];
}

export function formatCell(value: unknown, format: Format): string {
  if (value === null || value === undefined || (typeof value === 'number' && Number.isNaN(value))) return '-';
  if (typeof value !== 'number' || format === 'text') return String(value);
  switch (format) {
    case 'int':
      return Math.round(value).toLocaleString('en-US');
    case 'ratio':
      return `${value.toFixed(2)}x`;
    case 'num': {
      const abs = Math.abs(value);
      const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
      return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
    }
  }
}

function cells(table: Table): string[][] {
  return table.rows.map((row) => table.columns.map((column) => formatCell(row[column.key], column.format)));
}

/** Aligned plain text for the terminal: text columns left, numbers right. */
export function renderText(table: Table): string {
  const header = table.columns.map((c) => c.label);
  const body = cells(table);
  const widths = header.map((label, i) => Math.max(label.length, ...body.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    row
      .map((cell, i) => (table.columns[i]!.format === 'text' ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const lines = [table.title, ...(table.note ? [`  ${table.note}`] : []), `  ${line(header)}`, ...body.map((row) => `  ${line(row)}`)];
  return lines.join('\n');
}

/** A GitHub-flavoured Markdown table, with the title as a heading. */
export function renderMarkdown(table: Table, heading = '###'): string {
  const align = table.columns.map((c) => (c.format === 'text' ? '---' : '---:'));
  const row = (xs: string[]) => `| ${xs.map((x) => x.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [
    `${heading} ${table.title}`,
    '',
    ...(table.note ? [table.note, ''] : []),
    row(table.columns.map((c) => c.label)),
    `|${align.join('|')}|`,
    ...cells(table).map(row),
  ].join('\n');
}
