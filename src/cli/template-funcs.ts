// The functions a template can call (Go's text/template builtins, and the
// few Podman adds: json, lower, upper, title, join, split, truncate, pad,
// contains, hasPrefix, hasSuffix, replace), their errors worded as Go's,
// and truth as {{if}}, {{with}}, and, or and not see it.  The engine that
// calls them is ./template.ts, as Go keeps funcs.go beside exec.go.
import { goType, printValue, sprintf } from './gofmt';

export class TemplateError extends Error {}

export function fail(msg: string): never {
  throw new TemplateError(`template: ${msg}`);
}

export function truth(v: unknown): boolean {
  if (v === null || v === undefined) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string' || Array.isArray(v)) return v.length > 0;
  if (v instanceof Map) return v.size > 0;
  if (v instanceof Date) return true;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}


function str(v: unknown, fn: string): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  return fail(`error calling ${fn}: wrong type for value; expected string; got ${goType(v)}`);
}

function int(v: unknown, fn: string): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  return fail(`error calling ${fn}: wrong type for value; expected int; got ${v === null || v === undefined ? 'nil' : goType(v)}`);
}

function arity(fn: string, args: unknown[], min: number, max = min): void {
  if (args.length < min || args.length > max) fail(`wrong number of args for ${fn}: want ${min === max ? min : `${min}-${max}`} got ${args.length}`);
}

type Kind = 'nil' | 'bool' | 'number' | 'string' | 'other';
function kind(v: unknown): Kind {
  if (v === null || v === undefined) return 'nil';
  const t = typeof v;
  return t === 'boolean' ? 'bool' : t === 'number' ? 'number' : t === 'string' ? 'string' : 'other';
}

function eq(a: unknown, ...bs: unknown[]): boolean {
  if (!bs.length) fail('error calling eq: missing argument for comparison');
  for (const b of bs) {
    const ka = kind(a), kb = kind(b);
    if (ka === 'nil' || kb === 'nil') {
      if (ka === kb) return true;
      continue;
    }
    if (ka !== kb) fail('error calling eq: incompatible types for comparison');
    if (ka === 'other') {
      if (Array.isArray(a) || Array.isArray(b) || a instanceof Map || b instanceof Map) fail('error calling eq: non-comparable type');
      if (a instanceof Date && b instanceof Date ? a.getTime() === b.getTime() : JSON.stringify(a) === JSON.stringify(b)) return true;
    } else if (a === b) return true;
  }
  return false;
}

function less(fn: string, a: unknown, b: unknown): boolean {
  const ka = kind(a), kb = kind(b);
  if (ka !== 'number' && ka !== 'string') fail(`error calling ${fn}: invalid type for comparison`);
  if (ka !== kb) fail(`error calling ${fn}: incompatible types for comparison`);
  return (a as number) < (b as number);
}

function index(item: unknown, ...keys: unknown[]): unknown {
  let v = item;
  for (const k of keys) {
    if (v === null || v === undefined) fail('error calling index: index of untyped nil');
    if (Array.isArray(v) || typeof v === 'string') {
      const n = int(k, 'index');
      const len = typeof v === 'string' ? Buffer.byteLength(v) : v.length;
      if (n < 0 || n >= len) fail(`error calling index: index out of range: ${n}`);
      v = typeof v === 'string' ? Buffer.from(v)[n] : v[n];
    } else if (v instanceof Map) v = v.get(k);
    else if (typeof v === 'object') v = Object.hasOwn(v, String(k)) ? (v as Record<string, unknown>)[String(k)] : undefined;
    else fail(`error calling index: can't index item of type ${goType(v)}`);
  }
  return v;
}

function sprint(args: unknown[], ln: boolean): string {
  let out = '';
  args.forEach((a, i) => {
    // Sprint adds spaces only between operands when neither is a string; Sprintln always does.
    if (i > 0 && (ln || (typeof a !== 'string' && typeof args[i - 1] !== 'string'))) out += ' ';
    out += printValue(a, false);
  });
  return ln ? out + '\n' : out;
}

function jsonOf(v: unknown): string {
  const s = JSON.stringify(v === undefined ? null : v, (_k, x) => (x instanceof Map ? Object.fromEntries(x) : typeof x === 'bigint' ? Number(x) : x));
  // Go's encoder always escapes the JavaScript line terminators.
  return (s ?? 'null').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

export const FUNCS: Record<string, (...args: any[]) => unknown> = {
  json: (...a) => (arity('json', a, 1), jsonOf(a[0])),
  lower: (...a) => (arity('lower', a, 1), str(a[0], 'lower').toLowerCase()),
  upper: (...a) => (arity('upper', a, 1), str(a[0], 'upper').toUpperCase()),
  title: (...a) => (arity('title', a, 1), str(a[0], 'title').replace(/(^|[^\p{L}\p{N}_'])(\p{Ll})/gu, (_m, p: string, c: string) => p + c.toUpperCase())),
  join: (...a) => {
    arity('join', a, 2);
    let [list, sep] = a;
    // Go would reject `{{.Names | join ","}}` (the piped list lands last); accept it instead.
    if (typeof list === 'string' && Array.isArray(sep)) [list, sep] = [sep, list];
    if (list === null || list === undefined) return '';
    if (typeof list === 'string') return list;
    if (!Array.isArray(list)) return fail(`error calling join: wrong type for value; expected []string; got ${goType(list)}`);
    return list.map((e) => printValue(e, false)).join(str(sep, 'join'));
  },
  split: (...a) => {
    arity('split', a, 2);
    const s = str(a[0], 'split'), sep = str(a[1], 'split');
    return sep === '' ? Array.from(s) : s.split(sep);
  },
  len: (...a) => {
    arity('len', a, 1);
    const v = a[0];
    if (typeof v === 'string') return Buffer.byteLength(v);
    if (Array.isArray(v)) return v.length;
    if (v instanceof Map) return v.size;
    if (v && typeof v === 'object' && !(v instanceof Date)) return Object.keys(v).length;
    return fail(`error calling len: len of ${v === null || v === undefined ? 'nil pointer' : `type ${goType(v)}`}`);
  },
  index: (...a) => (a.length < 1 && fail('wrong number of args for index: want at least 1 got 0'), index(a[0], ...a.slice(1))),
  slice: (...a) => {
    const [v, i = 0, j] = a;
    if (typeof v !== 'string' && !Array.isArray(v)) return fail(`error calling slice: can't slice item of type ${v == null ? 'nil' : goType(v)}`);
    const end = j === undefined ? v.length : int(j, 'slice');
    const start = int(i, 'slice');
    if (start < 0 || end > v.length || start > end) fail(`error calling slice: index out of range: ${start}`);
    return v.slice(start, end);
  },
  printf: (...a) => (a.length < 1 && fail('wrong number of args for printf: want at least 1 got 0'), sprintf(str(a[0], 'printf'), a.slice(1))),
  print: (...a) => sprint(a, false),
  println: (...a) => sprint(a, true),
  truncate: (...a) => {
    arity('truncate', a, 2);
    const chars = Array.from(str(a[0], 'truncate'));
    return chars.slice(0, Math.max(0, int(a[1], 'truncate'))).join('');
  },
  pad: (...a) => (arity('pad', a, 3), ' '.repeat(Math.max(0, int(a[1], 'pad'))) + str(a[0], 'pad') + ' '.repeat(Math.max(0, int(a[2], 'pad')))),
  contains: (...a) => (arity('contains', a, 2), str(a[0], 'contains').includes(str(a[1], 'contains'))),
  hasPrefix: (...a) => (arity('hasPrefix', a, 2), str(a[0], 'hasPrefix').startsWith(str(a[1], 'hasPrefix'))),
  hasSuffix: (...a) => (arity('hasSuffix', a, 2), str(a[0], 'hasSuffix').endsWith(str(a[1], 'hasSuffix'))),
  replace: (...a) => {
    // strings.Replace(s, old, new, n); n defaults to all.
    arity('replace', a, 3, 4);
    const s = str(a[0], 'replace'), from = str(a[1], 'replace'), to = str(a[2], 'replace');
    const n = a.length > 3 ? int(a[3], 'replace') : -1;
    const max = n < 0 ? Infinity : n;
    if (from === '') {
      // An empty `old` matches before every rune and at the end, as in Go.
      const runes = Array.from(s);
      let out = '';
      for (let k = 0; k <= runes.length; k++) out += (k < max ? to : '') + (runes[k] ?? '');
      return out;
    }
    const parts = s.split(from);
    if (max >= parts.length - 1) return parts.join(to);
    return parts.slice(0, max + 1).join(to) + from + parts.slice(max + 1).join(from);
  },
  html: (...a) => sprint(a, false).replace(/[<>&'"\0]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&#39;', '"': '&#34;', '\0': '\uFFFD' })[c]!),
  urlquery: (...a) => encodeURIComponent(sprint(a, false)).replace(/%20/g, '+').replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase()),
  not: (...a) => (arity('not', a, 1), !truth(a[0])),
  eq: (...a) => eq(a[0], ...a.slice(1)),
  ne: (...a) => (arity('ne', a, 2), !eq(a[0], a[1])),
  lt: (...a) => (arity('lt', a, 2), less('lt', a[0], a[1])),
  le: (...a) => (arity('le', a, 2), less('le', a[0], a[1]) || eq(a[0], a[1])),
  gt: (...a) => (arity('gt', a, 2), less('gt', a[1], a[0])),
  ge: (...a) => (arity('ge', a, 2), less('ge', a[1], a[0]) || eq(a[0], a[1])),
};
