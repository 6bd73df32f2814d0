/**
 * How big the text and boxes of a drawn statechart are. The SVG is laid out
 * without a browser to measure text, so it is set in a monospace font, whose
 * characters are all close to 0.6 em wide in every common monospace face; the
 * layout counts characters, a little generously, and the text fits wherever
 * the SVG is opened.
 */

export const FONT_FAMILY = "ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', 'Liberation Mono', monospace";

/** Font sizes (px). */
export const FONT = {
  title: 12,
  line: 11,
  label: 11,
};

/** Box geometry (px). */
export const BOX = {
  /** A state's name line. */
  titleHeight: 24,
  /** One line of a state's transitions that stay put. */
  lineHeight: 14,
  /** Space around the block of such lines. */
  linesPadding: 5,
  /** Left and right of a state's text. */
  textPadding: 10,
  minWidth: 64,
  /** Around the content of a compound state. */
  padding: 12,
  radius: 8,
  /** An edge label's box around its text. */
  labelPadding: 4,
  labelHeight: 16,
  /** The initial-state dot. */
  initialRadius: 5,
};

/** The width a line of text takes in the chart's font. */
export function textWidth(text: string, fontSize: number): number {
  return Math.ceil(text.length * fontSize * 0.62);
}

/** Height of a state's header: its name and the lines listing its transitions that stay put. */
export function headerHeight(lines: number): number {
  return BOX.titleHeight + (lines ? lines * BOX.lineHeight + 2 * BOX.linesPadding : 0);
}

/** Width a state's header needs: its name and its lines. */
export function headerWidth(title: string, lines: string[]): number {
  const widest = Math.max(textWidth(title, FONT.title), ...lines.map((line) => textWidth(line, FONT.line)));
  return Math.max(BOX.minWidth, widest + 2 * BOX.textPadding);
}
