// Go's fmt, as Podman's --format output shows values: %v of JSON-decoded
// values (maps with sorted keys, floats and times as Go prints them), and
// printf's verbs and flags.  Used by the template engine (./template).
import { formatG } from './units';

/** Map keys in the order fmt prints them. */
export function cmpKeys(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = String(a), y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The Go type fmt names (%T) for a value decoded from JSON. */
export function goType(v: unknown): string {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return '[]interface {}';
  if (v instanceof Date) return 'time.Time';
  return 'map[string]interface {}';
}

function goFloat(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  if (!Number.isFinite(n)) return Number.isNaN(n) ? 'NaN' : n > 0 ? '+Inf' : '-Inf';
  const [m, e] = n.toExponential().split('e');
  const exp = Number(e);
  if (exp < -4 || exp >= 21) return `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(n);
}

function goTime(d: Date): string {
  const off = -d.getTimezoneOffset();
  const l = new Date(d.getTime() + off * 60_000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const ms = l.getUTCMilliseconds();
  const frac = ms ? '.' + p(ms, 3).replace(/0+$/, '') : '';
  const sign = off < 0 ? '-' : '+';
  const offStr = `${sign}${p(Math.trunc(Math.abs(off) / 60))}${p(Math.abs(off) % 60)}`;
  let zone = off === 0 ? 'UTC' : offStr;
  if (off !== 0) {
    const name = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((x) => x.type === 'timeZoneName')?.value;
    if (name && /^[A-Z]{2,5}$/.test(name)) zone = name;
  }
  return `${l.getUTCFullYear()}-${p(l.getUTCMonth() + 1)}-${p(l.getUTCDate())} ${p(l.getUTCHours())}:${p(l.getUTCMinutes())}:${p(l.getUTCSeconds())}${frac} ${offStr} ${zone}`;
}

/** fmt's %v; `top` distinguishes a missing value printed by an action ("<no value>") from a nested nil ("<nil>"). */
export function printValue(v: unknown, top: boolean): string {
  if (v === null || v === undefined) return top ? '<no value>' : '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return goFloat(v);
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v instanceof Date) return goTime(v);
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return `[${Array.from(v as ArrayLike<unknown>, (e) => printValue(e, false)).join(' ')}]`;
  if (v instanceof Map) return `map[${[...v.keys()].sort(cmpKeys).map((k) => `${printValue(k, false)}:${printValue(v.get(k), false)}`).join(' ')}]`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `map[${Object.keys(o).sort(cmpKeys).map((k) => `${k}:${printValue(o[k], false)}`).join(' ')}]`;
  }
  return String(v);
}

const QUOTE_ESC: Record<string, string> = { '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v', '\\': '\\\\', '"': '\\"' };

/** strconv.Quote. */
function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    const esc = QUOTE_ESC[ch];
    if (esc) out += esc;
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else if (/[\p{C}\p{Zl}\p{Zp}]/u.test(ch) || (/\p{Zs}/u.test(ch) && ch !== ' ')) out += c > 0xffff ? '\\U' + c.toString(16).padStart(8, '0') : '\\u' + c.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}

export function sprintf(format: string, args: unknown[]): string {
  let out = '';
  let argi = 0;
  let i = 0;
  while (i < format.length) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    i = pct + 1;
    if (i >= format.length) {
      out += '%!(NOVERB)';
      break;
    }
    let flags = '';
    while (i < format.length && '-+# 0'.includes(format[i])) flags += format[i++];
    const num = (): number | undefined => {
      if (format[i] === '*') {
        i++;
        const a = args[argi++];
        return typeof a === 'number' ? Math.trunc(a) : undefined;
      }
      const m = /^\d+/.exec(format.slice(i));
      if (!m) return undefined;
      i += m[0].length;
      return Number(m[0]);
    };
    let width = num();
    let prec: number | undefined;
    if (format[i] === '.') {
      i++;
      prec = num() ?? 0;
    }
    if (width !== undefined && width < 0) {
      flags += '-';
      width = -width;
    }
    const verb = String.fromCodePoint(format.codePointAt(i) ?? 37);
    i += verb.length;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const body = fmtVerb(verb, args[argi++], flags, prec);
    out += pad(body, width, flags);
  }
  if (argi < args.length) out += `%!(EXTRA ${args.slice(argi).map((a) => (a === null || a === undefined ? '<nil>' : `${goType(a)}=${printValue(a, false)}`)).join(', ')})`;
  return out;
}

function pad(s: string, width: number | undefined, flags: string): string {
  const len = [...s].length;
  if (width === undefined || len >= width) return s;
  const fill = width - len;
  if (flags.includes('-')) return s + ' '.repeat(fill);
  if (flags.includes('0')) {
    // Go zero-pads strings too; a numeric sign stays in front.
    const sign = /^[+-]\d/.test(s) ? s[0] : '';
    return sign + '0'.repeat(fill) + s.slice(sign.length);
  }
  return ' '.repeat(fill) + s;
}

function fmtVerb(verb: string, a: unknown, flags: string, prec: number | undefined): string {
  const bad = () => (a === null || a === undefined ? `%!${verb}(<nil>)` : `%!${verb}(${goType(a)}=${printValue(a, false)})`);
  const plus = (s: string, n: number) => (n >= 0 && flags.includes('+') ? '+' + s : n >= 0 && flags.includes(' ') ? ' ' + s : s);
  if (Array.isArray(a) && verb !== 'v' && verb !== 'T') return `[${a.map((e) => fmtVerb(verb, e, flags, prec)).join(' ')}]`;
  switch (verb) {
    case 'v':
      if (flags.includes('#') && typeof a === 'string') return goQuote(a);
      return a === null || a === undefined ? '<nil>' : printValue(a, false);
    case 'T':
      return a === null || a === undefined ? '<nil>' : goType(a);
    case 's':
      if (typeof a === 'string') return prec === undefined ? a : [...a].slice(0, prec).join('');
      if (typeof a === 'object' && a !== null && !(a instanceof Date)) return printValue(a, false);
      if (a instanceof Date) return goTime(a);
      return bad();
    case 'q':
      if (typeof a === 'string') return flags.includes('#') && !a.includes('`') ? '`' + a + '`' : goQuote(a);
      if (typeof a === 'number' && Number.isInteger(a)) return `'${String.fromCodePoint(a)}'`;
      return bad();
    case 't':
      return typeof a === 'boolean' ? String(a) : bad();
    case 'd': case 'b': case 'o': case 'x': case 'X': case 'c': {
      if (typeof a === 'string' && (verb === 'x' || verb === 'X')) {
        const h = Buffer.from(a).toString('hex');
        return verb === 'X' ? h.toUpperCase() : h;
      }
      if (typeof a !== 'number' || !Number.isInteger(a)) return bad();
      if (verb === 'c') return String.fromCodePoint(a);
      const base = { d: 10, b: 2, o: 8, x: 16, X: 16 }[verb]!;
      let s = Math.abs(a).toString(base);
      if (verb === 'X') s = s.toUpperCase();
      if (prec !== undefined) s = s.padStart(prec, '0');
      if (flags.includes('#')) s = (({ b: '0b', o: '0', x: '0x', X: '0X' } as Record<string, string>)[verb] ?? '') + s;
      return a < 0 ? '-' + s : plus(s, a);
    }
    case 'f': case 'F': case 'e': case 'E': case 'g': case 'G': {
      if (typeof a !== 'number') return bad();
      let s: string;
      if (verb === 'f' || verb === 'F') s = Math.abs(a).toFixed(prec ?? 6);
      else if (verb === 'e' || verb === 'E') s = Math.abs(a).toExponential(prec ?? 6).replace(/e([+-])(\d)$/, 'e$10$2');
      else s = prec === undefined ? goFloat(Math.abs(a)) : formatG(Math.abs(a), prec);
      if (verb === 'E' || verb === 'G') s = s.toUpperCase();
      return a < 0 || Object.is(a, -0) ? '-' + s : plus(s, a);
    }
    default:
      return bad();
  }
}
