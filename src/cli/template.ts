// A subset of Go's text/template, enough for Podman/Docker style `--format` strings.
// Semantics follow Go where users can observe them: piped values are the last argument,
// values print as fmt's %v would (./gofmt), missing map keys print "<no value>"; the
// functions a template calls are in ./template-funcs.

import { cmpKeys, goType, printValue } from './gofmt';
import { fail, FUNCS, TemplateError, truth } from './template-funcs';

export { TemplateError };

/** Podman turns a literal `\t` / `\n` typed on the command line into a tab / newline before parsing. */
export function normalizeFormat(s: string): string {
  return s.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
}

export function compileTemplate(src: string): (data: unknown) => string {
  const nodes = new Parser(lex(src)).parseTop();
  return (data) => {
    const ex = new Exec(data, false);
    ex.list(nodes, data);
    return ex.out;
  };
}

/** Renders the template's header line: each action prints the header of the first field it uses. */
export function renderHeader(src: string, header: (path: string[]) => string): string {
  const nodes = new Parser(lex(src)).parseTop();
  const ex = new Exec(undefined, header);
  ex.list(nodes, undefined);
  return ex.out;
}

// ---- lexer ----

type Tok =
  | { k: 'ident'; v: string; sp: boolean }
  | { k: 'str'; v: string; sp: boolean }
  | { k: 'num'; v: number; sp: boolean }
  | { k: 'field'; v: string[]; sp: boolean }
  | { k: 'var'; v: string; sp: boolean }
  | { k: '|' | '(' | ')' | ':=' | '=' | ','; sp: boolean };

type Item = { k: 'text'; s: string } | { k: 'action'; toks: Tok[] };

const SPACE = /[ \t\r\n]/;
const IDENT = /[A-Za-z0-9_]/;
const NUMBER = /^[+-]?(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)/;

function lex(src: string): Item[] {
  const items: Item[] = [];
  let i = 0;
  let trimNext = false;
  const pushText = (s: string) => {
    if (trimNext) s = s.replace(/^[ \t\r\n]+/, '');
    trimNext = false;
    if (s) items.push({ k: 'text', s });
  };
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    if (open < 0) {
      pushText(src.slice(i));
      break;
    }
    let text = src.slice(i, open);
    i = open + 2;
    if (src[i] === '-' && SPACE.test(src[i + 1] ?? '')) {
      text = text.replace(/[ \t\r\n]+$/, '');
      i += 2;
    }
    pushText(text);
    const isClose = (j: number): number => {
      // Returns the length of the closing delimiter at j (with its trim marker), or 0.
      if (src.startsWith('}}', j)) return 2;
      if (SPACE.test(src[j] ?? '')) {
        let k = j;
        while (SPACE.test(src[k] ?? '')) k++;
        if (src.startsWith('-}}', k)) return k - j + 3;
      }
      return 0;
    };
    const finish = (j: number) => {
      const n = isClose(j);
      if (n > 2) trimNext = true;
      return j + n;
    };
    while (SPACE.test(src[i] ?? '') && !isClose(i)) i++;
    if (src.startsWith('/*', i)) {
      const end = src.indexOf('*/', i + 2);
      if (end < 0) fail('unclosed comment');
      const j = end + 2;
      if (!isClose(j)) fail('comment ends before closing delimiter');
      i = finish(j);
      continue;
    }
    const toks: Tok[] = [];
    let sp = true;
    for (;;) {
      if (i >= src.length) fail('unclosed action');
      if (isClose(i)) {
        i = finish(i);
        break;
      }
      const c = src[i];
      if (SPACE.test(c)) {
        i++;
        sp = true;
        continue;
      }
      const num = NUMBER.exec(src.slice(i));
      if (num && (/[0-9]/.test(c) || ((c === '+' || c === '-' || c === '.') && /[0-9.]/.test(src[i + 1] ?? '')))) {
        const t = num[0].replace(/_/g, '');
        const neg = t.startsWith('-');
        const v = Number(t.replace(/^[+-]/, ''));
        if (Number.isNaN(v)) fail(`bad number syntax: "${num[0]}"`);
        toks.push({ k: 'num', v: neg ? -v : v, sp });
        i += num[0].length;
      } else if (c === '"' || c === '`') {
        let j = i + 1;
        if (c === '`') {
          j = src.indexOf('`', j);
          if (j < 0) fail('unterminated raw quoted string');
          toks.push({ k: 'str', v: src.slice(i + 1, j), sp });
        } else {
          while (j < src.length && src[j] !== '"') {
            if (src[j] === '\n') fail('unterminated quoted string');
            j += src[j] === '\\' ? 2 : 1;
          }
          if (j >= src.length) fail('unterminated quoted string');
          toks.push({ k: 'str', v: unquote(src.slice(i + 1, j)), sp });
        }
        i = j + 1;
      } else if (c === "'") {
        const m = /^'(\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)|[^\\'])'/u.exec(src.slice(i));
        if (!m) fail('bad character constant');
        toks.push({ k: 'num', v: unquote(m[1]).codePointAt(0)!, sp });
        i += m[0].length;
      } else if (c === '.' || c === '$') {
        let j = i;
        const path: string[] = [];
        let name = '$';
        if (c === '$') {
          j++;
          while (IDENT.test(src[j] ?? '')) j++;
          name = src.slice(i, j);
        }
        while (src[j] === '.' && /[A-Za-z_]/.test(src[j + 1] ?? '')) {
          let k = j + 1;
          while (IDENT.test(src[k] ?? '')) k++;
          path.push(src.slice(j + 1, k));
          j = k;
        }
        if (c === '.' && path.length === 0) j = i + 1; // bare dot
        toks.push(c === '$' ? { k: 'var', v: name, sp } : { k: 'field', v: path, sp });
        // `$x.Field` is lexed as a var with a path: keep it as a chained field token.
        if (c === '$' && path.length) toks.push({ k: 'field', v: path, sp: false });
        i = j;
      } else if (/[A-Za-z_]/.test(c)) {
        let j = i;
        while (IDENT.test(src[j] ?? '')) j++;
        toks.push({ k: 'ident', v: src.slice(i, j), sp });
        i = j;
      } else if (src.startsWith(':=', i)) {
        toks.push({ k: ':=', sp });
        i += 2;
      } else if (c === '|' || c === '(' || c === ')' || c === '=' || c === ',') {
        toks.push({ k: c, sp });
        i++;
      } else {
        fail(`unexpected "${c}" in command`);
      }
      sp = false;
    }
    items.push({ k: 'action', toks });
  }
  return items;
}

function unquote(s: string): string {
  return s.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)/gu, (_, e: string) => {
    switch (e[0]) {
      case 'a': return '\x07';
      case 'b': return '\b';
      case 'f': return '\f';
      case 'n': return '\n';
      case 'r': return '\r';
      case 't': return '\t';
      case 'v': return '\v';
      case '\\': case '"': case "'": return e;
      case 'x': case 'u': case 'U': return String.fromCodePoint(parseInt(e.slice(1), 16));
      default:
        if (/^[0-7]{3}$/.test(e)) return String.fromCharCode(parseInt(e, 8));
        return fail(`invalid syntax in string escape \\${e}`);
    }
  });
}

// ---- parser ----

type Arg =
  | { t: 'field'; path: string[] }
  | { t: 'var'; name: string }
  | { t: 'chain'; of: Arg; path: string[] }
  | { t: 'lit'; v: unknown }
  | { t: 'ident'; name: string }
  | { t: 'pipe'; pipe: Pipe };
interface Pipe {
  decl: string[];
  assign: boolean;
  cmds: Arg[][];
}
type Node =
  | { t: 'text'; s: string }
  | { t: 'action'; pipe: Pipe }
  | { t: 'if' | 'with' | 'range'; pipe: Pipe; body: Node[]; els?: Node[] }
  | { t: 'break' }
  | { t: 'continue' };

const KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'break', 'continue', 'define', 'template', 'block']);

class Parser {
  private pos = 0;
  private vars = ['$'];
  private rangeDepth = 0;
  constructor(private items: Item[]) {}

  parseTop(): Node[] {
    const { nodes, stop } = this.list();
    if (stop) fail(`unexpected {{${stop.word}}}`);
    return nodes;
  }

  private list(): { nodes: Node[]; stop?: { word: string; rest: Tok[] } } {
    const nodes: Node[] = [];
    while (this.pos < this.items.length) {
      const it = this.items[this.pos++];
      if (it.k === 'text') {
        nodes.push({ t: 'text', s: it.s });
        continue;
      }
      const [first, ...rest] = it.toks;
      if (!first) fail('missing value for command');
      const word = first.k === 'ident' && KEYWORDS.has(first.v) ? first.v : '';
      if (word === 'end' || word === 'else') return { nodes, stop: { word, rest } };
      if (word === 'if' || word === 'with' || word === 'range') nodes.push(this.control(word, rest));
      else if (word === 'break' || word === 'continue') {
        if (!this.rangeDepth) fail(`{{${word}}} outside {{range}}`);
        if (rest.length) fail(`unexpected ${word} arguments`);
        nodes.push(word === 'break' ? { t: 'break' } : { t: 'continue' });
      } else if (word) fail(`{{${word}}} is not supported`);
      else nodes.push({ t: 'action', pipe: this.pipeline(it.toks, false) });
    }
    return { nodes };
  }

  private control(kind: 'if' | 'with' | 'range', toks: Tok[]): Node {
    const mark = this.vars.length;
    try {
      return this.controlBody(kind, toks);
    } finally {
      // Variables declared in a control structure (its pipeline, body or else) end with it.
      this.vars.length = mark;
    }
  }

  private controlBody(kind: 'if' | 'with' | 'range', toks: Tok[]): Node {
    const pipe = this.pipeline(toks, true);
    if (!pipe.cmds.length) fail(`missing value for ${kind}`);
    if (kind === 'range') this.rangeDepth++;
    const body = this.list();
    if (kind === 'range') this.rangeDepth--;
    let stop = body.stop;
    if (!stop) fail(`unexpected EOF in ${kind}`);
    const node: Node = { t: kind, pipe, body: body.nodes };
    if (stop.word === 'else') {
      const [w, ...rest] = stop.rest;
      if (w?.k === 'ident' && (w.v === 'if' || w.v === 'with')) {
        // `{{else if x}}` is `{{else}}{{if x}}...{{end}}{{end}}` sharing one end.
        node.els = [this.control(w.v, rest)];
        return node;
      }
      if (stop.rest.length) fail('unexpected tokens after else');
      const els = this.list();
      if (els.stop?.word !== 'end') fail(`expected end; found ${els.stop ? els.stop.word : 'EOF'}`);
      stop = els.stop;
      node.els = els.nodes;
    }
    if (stop.rest.length) fail('unexpected tokens after end');
    return node;
  }

  private pipeline(toks: Tok[], control: boolean): Pipe {
    const pipe: Pipe = { decl: [], assign: false, cmds: [] };
    let i = 0;
    // Declarations: `$x :=`, `$i, $e :=` (the latter only for range), `$x =`.
    const d = toks.findIndex((t) => t.k === ':=' || t.k === '=');
    if (d > 0 && toks.slice(0, d).every((t, j) => (j % 2 ? t.k === ',' : t.k === 'var'))) {
      pipe.decl = toks.slice(0, d).filter((t) => t.k === 'var').map((t) => (t as { v: string }).v);
      pipe.assign = toks[d].k === '=';
      if (pipe.decl.length > 2 || (pipe.decl.length === 2 && !control)) fail('too many declarations');
      i = d + 1;
    }
    const [cmds, end] = this.cmds(toks, i);
    if (end < toks.length) fail(`unexpected ${describe(toks[end])} in operand`);
    pipe.cmds = cmds;
    if (!cmds.length && !control) fail('missing value for command');
    for (const name of pipe.decl) {
      if (pipe.assign) this.checkVar(name);
      else this.vars.push(name);
    }
    return pipe;
  }

  private cmds(toks: Tok[], i: number): [Arg[][], number] {
    const cmds: Arg[][] = [];
    let cmd: Arg[] = [];
    while (i < toks.length && toks[i].k !== ')') {
      const t = toks[i];
      if (t.k === '|') {
        if (!cmd.length) fail('missing command in pipeline');
        cmds.push(cmd);
        cmd = [];
        i++;
        continue;
      }
      if (cmd.length && !t.sp && t.k !== 'field') fail(`missing space before ${describe(t)}`);
      let arg: Arg;
      if (t.k === '(') {
        const [inner, end] = this.cmds(toks, i + 1);
        if (toks[end]?.k !== ')') fail('unclosed left paren');
        if (!inner.length) fail('missing value for parenthesized pipeline');
        arg = { t: 'pipe', pipe: { decl: [], assign: false, cmds: inner } };
        i = end + 1;
      } else {
        arg = this.operand(t);
        i++;
      }
      const next = toks[i];
      if (next?.k === 'field' && !next.sp && next.v.length && arg.t !== 'field') {
        arg = { t: 'chain', of: arg, path: next.v };
        i++;
      }
      cmd.push(arg);
    }
    if (cmd.length) cmds.push(cmd);
    else if (cmds.length) fail('missing command in pipeline');
    return [cmds, i];
  }

  private operand(t: Tok): Arg {
    switch (t.k) {
      case 'field': return { t: 'field', path: t.v };
      case 'var': this.checkVar(t.v); return { t: 'var', name: t.v };
      case 'str': case 'num': return { t: 'lit', v: t.v };
      case 'ident':
        if (t.v === 'true' || t.v === 'false') return { t: 'lit', v: t.v === 'true' };
        if (t.v === 'nil') return { t: 'lit', v: null };
        if (!Object.hasOwn(FUNCS, t.v) && t.v !== 'and' && t.v !== 'or') fail(`function "${t.v}" not defined`);
        return { t: 'ident', name: t.v };
      default: return fail(`unexpected ${describe(t)} in operand`);
    }
  }

  private checkVar(name: string): void {
    if (!this.vars.includes(name)) fail(`undefined variable "${name}"`);
  }
}

function describe(t: Tok): string {
  return 'v' in t ? `"${Array.isArray(t.v) ? '.' + t.v.join('.') : t.v}"` : `"${t.k}"`;
}

// ---- execution ----

const BREAK = Symbol('break');
const CONTINUE = Symbol('continue');

class Exec {
  out = '';
  private vars: [string, unknown][];
  constructor(root: unknown, private header: false | ((path: string[]) => string)) {
    this.vars = [['$', root]];
  }

  list(nodes: Node[], dot: unknown): void {
    for (const n of nodes) this.node(n, dot);
  }

  private node(n: Node, dot: unknown): void {
    if (n.t === 'text') {
      this.out += n.s;
      return;
    }
    if (this.header) {
      // Header rows ignore control flow: every branch's columns name themselves once.
      if (n.t === 'break' || n.t === 'continue') return;
      if (n.t === 'action') {
        if (!n.pipe.decl.length) {
          const path = firstField(n.pipe);
          this.out += path ? this.header(path) : '';
        }
      } else this.list(n.body, dot);
      return;
    }
    if (n.t === 'break') throw BREAK;
    if (n.t === 'continue') throw CONTINUE;
    const mark = this.vars.length;
    try {
      if (n.t === 'action') {
        const v = this.pipe(n.pipe, dot);
        if (!n.pipe.decl.length) this.out += printValue(v, true);
        return;
      }
      if (n.t === 'if' || n.t === 'with') {
        const v = this.pipe(n.pipe, dot);
        if (truth(v)) this.list(n.body, n.t === 'with' ? v : dot);
        else if (n.els) this.list(n.els, dot);
        return;
      }
      const v = this.pipe({ ...n.pipe, decl: [] }, dot);
      const entries = rangeEntries(v);
      if (!entries.length) {
        if (n.els) this.list(n.els, dot);
        return;
      }
      const [d1, d2] = n.pipe.decl;
      for (const [k, e] of entries) {
        if (d2) this.vars.push([d1, k], [d2, e]);
        else if (d1) this.vars.push([d1, e]);
        try {
          this.list(n.body, e);
        } catch (err) {
          if (err === BREAK) break;
          if (err !== CONTINUE) throw err;
        } finally {
          this.vars.length = mark;
        }
      }
    } finally {
      // Variables declared inside a control structure end with it; top-level actions keep theirs.
      if (n.t !== 'action') this.vars.length = mark;
    }
  }

  private pipe(p: Pipe, dot: unknown): unknown {
    let v: unknown;
    let piped = false;
    for (const cmd of p.cmds) {
      v = this.command(cmd, dot, piped, v);
      piped = true;
    }
    if (p.assign) {
      for (let i = this.vars.length - 1; i >= 0; i--) {
        if (this.vars[i][0] === p.decl[0]) {
          this.vars[i][1] = v;
          break;
        }
      }
    } else if (p.decl.length === 1) this.vars.push([p.decl[0], v]);
    return v;
  }

  private command(cmd: Arg[], dot: unknown, piped: boolean, prev: unknown): unknown {
    const [first, ...rest] = cmd;
    if (first.t === 'ident') {
      const name = first.name;
      if (name === 'and' || name === 'or') {
        // Short-circuit like Go 1.18+: the first deciding argument is the result.
        const all: (() => unknown)[] = rest.map((a) => () => this.arg(a, dot));
        if (piped) all.push(() => prev);
        if (!all.length) fail(`wrong number of args for ${name}: want at least 1 got 0`);
        let v: unknown;
        for (const f of all) {
          v = f();
          if (truth(v) === (name === 'or')) return v;
        }
        return v;
      }
      const args = rest.map((a) => this.arg(a, dot));
      if (piped) args.push(prev);
      try {
        return FUNCS[name](...args);
      } catch (err) {
        if (err instanceof TemplateError) throw err;
        return fail(`error calling ${name}: ${(err as Error).message}`);
      }
    }
    if (rest.length || piped) fail(`can't give argument to non-function ${argText(first)}`);
    return this.arg(first, dot);
  }

  private arg(a: Arg, dot: unknown): unknown {
    switch (a.t) {
      case 'lit': return a.v;
      case 'field': return field(dot, a.path);
      case 'var': return this.lookup(a.name);
      case 'chain': return field(this.arg(a.of, dot), a.path);
      case 'pipe': return this.pipe(a.pipe, dot);
      case 'ident': return this.command([a], dot, false, undefined);
    }
  }

  private lookup(name: string): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i][0] === name) return this.vars[i][1];
    return fail(`undefined variable "${name}"`);
  }
}

function argText(a: Arg): string {
  if (a.t === 'field') return '.' + a.path.join('.');
  if (a.t === 'var') return a.name;
  if (a.t === 'lit') return printValue(a.v, false);
  return '(...)';
}

function firstField(p: Pipe): string[] | undefined {
  for (const cmd of p.cmds) {
    for (const a of cmd) {
      if (a.t === 'field') return a.path;
      if (a.t === 'chain' && a.of.t === 'var' && a.of.name === '$') return a.path;
      if (a.t === 'pipe') {
        const f = firstField(a.pipe);
        if (f) return f;
      }
    }
  }
  return undefined;
}

function field(v: unknown, path: string[]): unknown {
  for (const name of path) {
    // A nil receiver yields no value rather than an error: rows may legitimately lack sub-objects.
    if (v === null || v === undefined) return undefined;
    if (v instanceof Map) v = v.get(name);
    else if (typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      // Getters on class instances count as fields; Object.prototype members do not.
      const f = Object.hasOwn(o, name) || (name in o && !(name in Object.prototype)) ? o[name] : undefined;
      v = typeof f === 'function' ? f.call(o) : f;
    } else fail(`can't evaluate field ${name} in type ${goType(v)}`);
  }
  return v;
}

function rangeEntries(v: unknown): [unknown, unknown][] {
  if (v === null || v === undefined) return [];
  if (Array.isArray(v)) return v.map((e, i) => [i, e]);
  if (typeof v === 'number' && Number.isInteger(v)) return Array.from({ length: Math.max(0, v) }, (_, i) => [i, i]);
  if (v instanceof Map) return [...v.keys()].sort(cmpKeys).map((k) => [k, v.get(k)]);
  if (typeof v === 'object' && !(v instanceof Date)) {
    const o = v as Record<string, unknown>;
    return Object.keys(o).sort(cmpKeys).map((k) => [k, o[k]]);
  }
  return fail(`range can't iterate over ${printValue(v, false)}`);
}
