/**
 * A GitHub Markdown table, laid out as prettier lays it out (columns padded to their widest cell), so
 * that a report written with it is already formatted. Cells: `|` is escaped, line breaks become
 * spaces; numbers are printed with `String()`, so round them first. `align` per column: `'r'` right,
 * `'l'` (the default) left.
 */
export function markdownTable(
  header: string[],
  rows: Array<Array<string | number>>,
  align: Array<'l' | 'r'> = [],
): string {
  const columns = Math.max(header.length, ...rows.map((row) => row.length));
  const cell = (value: string | number | undefined) =>
    String(value ?? '')
      .replace(/\r?\n|\r/g, ' ')
      .replace(/\|/g, '\\|')
      .trim();
  const head = Array.from({ length: columns }, (_, i) => cell(header[i]));
  const body = rows.map((row) => Array.from({ length: columns }, (_, i) => cell(row[i])));
  const widths = head.map((h, i) => Math.max(3, width(h), ...body.map((row) => width(row[i] as string))));
  const right = (i: number) => align[i] === 'r';
  const pad = (text: string, i: number) => {
    const fill = ' '.repeat((widths[i] as number) - width(text));
    return right(i) ? fill + text : text + fill;
  };
  const line = (cells: string[]) => `| ${cells.map(pad).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (right(i) ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  return [line(head), rule, ...body.map(line)].join('\n');
}

/** Display width: code points, which is what matters for the ASCII and Latin text of reports. */
function width(text: string): number {
  return [...text].length;
}
