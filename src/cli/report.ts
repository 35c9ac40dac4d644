// Output of list/inspect commands the way Podman's report package renders it.
import { compileTemplate, normalizeFormat, renderHeader } from './template';

// Podman (containers/common report.IsJSON) treats `json` and `{{json .}}` alike: one JSON array.
const JSON_FORMAT = /^\s*(json|\{\{\s*json\s*\.?\s*\}\})\s*$/;

export function isJsonFormat(format: string): boolean {
  return JSON_FORMAT.test(format);
}

const TABLE_PREFIX = /^table(\s+|$)/;
const MIN_WIDTH = 12;
const PADDING = 2;

function toJSON(v: unknown): string {
  // Go's encoder escapes the JavaScript line terminators even with HTML escaping off.
  return JSON.stringify(v, null, 4).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/**
 * Rows rendered for ps/images: format undefined (or `table`) -> defaultTable; 'json' -> JSON array;
 * a template starting with 'table' -> header line + rows; any other template -> one line per row.
 * All template output goes through tabwrite, as Podman's does. No trailing newline; '' when nothing to print.
 */
export function renderReport(
  rows: object[],
  opts: { format?: string; defaultTable: string; headers?: Record<string, string>; noHeading?: boolean },
): string {
  let format = opts.format === undefined ? '' : normalizeFormat(opts.format);
  let table = TABLE_PREFIX.test(format);
  if (format.trim() === '' || format.trim() === 'table') {
    format = opts.defaultTable;
    table = true;
  }
  if (JSON_FORMAT.test(format)) return toJSON(rows);
  const body = format.replace(TABLE_PREFIX, '');
  const render = compileTemplate(body);
  let out = '';
  if (table && !opts.noHeading) out += line(renderHeader(body, (path) => headerName(path, opts.headers)));
  for (const row of rows) out += line(render(row));
  return tabwrite(out.replace(/\n$/, ''));
}

/** inspect: no format or json -> JSON array with 4-space indent; a template -> one line per object. */
export function renderInspect(objects: unknown[], format?: string): string {
  if (format === undefined || format.trim() === '' || JSON_FORMAT.test(format)) return toJSON(objects);
  const render = compileTemplate(normalizeFormat(format).replace(TABLE_PREFIX, ''));
  return tabwrite(objects.map((o) => line(render(o))).join('').replace(/\n$/, ''));
}

/**
 * inspect of named records: what was found is rendered; the first name not
 * found is the error, after the output (exit 125), as Podman does.
 */
export function inspectNamed(names: string[], view: (name: string) => unknown, format?: string): { output: string; missing?: string } {
  const found: unknown[] = [];
  let missing: string | undefined;
  for (const n of names) {
    try {
      found.push(view(n));
    } catch (err) {
      missing ??= (err as Error).message;
    }
  }
  return { output: renderInspect(found, format), missing };
}

// Podman appends a newline to a format unless it already ends with one.
function line(s: string): string {
  return s.endsWith('\n') ? s : s + '\n';
}

function headerName(path: string[], headers?: Record<string, string>): string {
  if (!path.length) return '';
  const last = path[path.length - 1];
  return headers?.[path.join('.')] ?? headers?.[last] ?? camelSplit(last).join(' ').toUpperCase();
}

/** Splits at case/digit boundaries like fatih/camelcase: CreatedAt -> Created At, HTTPServer -> HTTP Server. */
export function camelSplit(s: string): string[] {
  const cls = (c: string) => (/\p{Ll}/u.test(c) ? 1 : /\p{Lu}/u.test(c) ? 2 : /\p{N}/u.test(c) ? 3 : 4);
  const runs: string[][] = [];
  let prev = 0;
  for (const c of s) {
    const k = cls(c);
    if (k === prev) runs[runs.length - 1].push(c);
    else runs.push([c]);
    prev = k;
  }
  // An upper-case run followed by a lower-case one gives its last letter to the next word.
  for (let i = 0; i < runs.length - 1; i++) {
    if (cls(runs[i][0]) === 2 && cls(runs[i + 1][0]) === 1) runs[i + 1].unshift(runs[i].pop()!);
  }
  return runs.filter((r) => r.length).map((r) => r.join(''));
}

/**
 * Go's text/tabwriter as Podman configures it (minwidth 12, tabwidth 2, padding 2, pad ' '):
 * a tab-terminated cell is padded to its column block's widest cell + 2, at least 12;
 * a line's last cell is never padded; trailing whitespace is trimmed.
 */
export function tabwrite(text: string): string {
  const lines = text.split('\n').map((l) => l.split('\t'));
  const out: string[] = [];
  const widths: number[] = [];
  const len = (s: string) => (/^[\x00-\x7f]*$/.test(s) ? s.length : Array.from(s).length);
  const emit = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const cells = lines[i];
      let s = '';
      cells.forEach((c, j) => {
        s += j < widths.length && j < cells.length - 1 ? c + ' '.repeat(Math.max(0, widths[j] - len(c))) : c;
      });
      out.push(s.trimEnd());
    }
  };
  // Column blocks: runs of consecutive lines that all have a tab-terminated cell in this column.
  const format = (line0: number, line1: number) => {
    const column = widths.length;
    for (let t = line0; t < line1; t++) {
      if (column >= lines[t].length - 1) continue;
      emit(line0, t);
      line0 = t;
      let width = MIN_WIDTH;
      for (; t < line1 && column < lines[t].length - 1; t++) width = Math.max(width, len(lines[t][column]) + PADDING);
      widths.push(width);
      format(line0, t);
      widths.pop();
      line0 = t;
    }
    emit(line0, line1);
  };
  format(0, lines.length);
  return out.join('\n');
}
