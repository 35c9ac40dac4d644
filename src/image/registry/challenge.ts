// WWW-Authenticate parsing (RFC 7235 section 4.1): one header may carry several
// challenges, each a scheme followed by either a token68 or comma-separated
// auth-params whose values are tokens or quoted strings with backslash escapes.
// The header comes from the registry, so malformed input is skipped, never thrown.

export interface Challenge {
  /** the auth-scheme in lower case ('bearer', 'basic'): schemes are case-insensitive */
  scheme: string;
  /** auth-params by lower-cased name; the first of duplicated names wins */
  params: Record<string, string>;
  /** the token68 form (`Negotiate abc==`), when the challenge has one instead of params */
  token68?: string;
}

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const TOKEN68_CHAR = /[-._~+/0-9A-Za-z]/;

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t';
}

class Scanner {
  pos = 0;
  constructor(readonly s: string) {}

  get done(): boolean {
    return this.pos >= this.s.length;
  }

  peek(offset = 0): string | undefined {
    return this.s[this.pos + offset];
  }

  skipSpace(): void {
    while (isSpace(this.peek())) this.pos++;
  }

  token(): string {
    const start = this.pos;
    while (!this.done && TCHAR.test(this.s[this.pos])) this.pos++;
    return this.s.slice(start, this.pos);
  }

  /** index just past the spaces that start at `from` */
  afterSpace(from: number): number {
    let i = from;
    while (isSpace(this.s[i])) i++;
    return i;
  }

  quoted(): string {
    // at the opening quote
    this.pos++;
    let out = '';
    while (!this.done) {
      const c = this.s[this.pos++];
      if (c === '"') return out;
      if (c === '\\' && !this.done) out += this.s[this.pos++];
      else out += c;
    }
    return out; // unterminated: keep what was there
  }

  /** skips to just past the next comma (recovery from garbage) */
  skipPastComma(): void {
    while (!this.done && this.s[this.pos] !== ',') {
      if (this.s[this.pos] === '"') this.quoted();
      else this.pos++;
    }
    if (!this.done) this.pos++;
  }

  /** at a token: is it the name of an auth-param (`name =` follows, not a token68's `==`)? */
  startsParam(): boolean {
    let i = this.pos;
    while (i < this.s.length && TCHAR.test(this.s[i])) i++;
    if (i === this.pos) return false;
    i = this.afterSpace(i);
    if (this.s[i] !== '=') return false;
    i = this.afterSpace(i + 1);
    const c = this.s[i];
    return c !== undefined && (c === '"' || TCHAR.test(c));
  }
}

export function parseChallenges(header: string): Challenge[] {
  const sc = new Scanner(header);
  const out: Challenge[] = [];
  let current: Challenge | undefined;

  while (!sc.done) {
    sc.skipSpace();
    if (sc.peek() === ',') {
      sc.pos++;
      continue;
    }
    if (sc.done) break;

    if (current && sc.startsParam()) {
      const name = sc.token().toLowerCase();
      sc.skipSpace();
      sc.pos++; // '='
      sc.skipSpace();
      const value = sc.peek() === '"' ? sc.quoted() : sc.token();
      if (!(name in current.params)) current.params[name] = value;
      sc.skipSpace();
      if (!sc.done && sc.peek() !== ',') sc.skipPastComma();
      continue;
    }

    const scheme = sc.token();
    if (scheme === '') {
      // neither a scheme nor a param: drop the garbage up to the next comma
      sc.skipPastComma();
      continue;
    }
    current = { scheme: scheme.toLowerCase(), params: Object.create(null) as Record<string, string> };
    out.push(current);
    if (!isSpace(sc.peek())) continue; // bare scheme, followed by ',' or the end
    sc.skipSpace();
    if (sc.done || sc.peek() === ',' || sc.startsParam()) continue;

    // token68: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    const start = sc.pos;
    while (!sc.done && TOKEN68_CHAR.test(sc.s[sc.pos])) sc.pos++;
    if (sc.pos > start) {
      while (sc.peek() === '=') sc.pos++;
      current.token68 = sc.s.slice(start, sc.pos);
      sc.skipSpace();
    }
    if (!sc.done && sc.peek() !== ',') sc.skipPastComma();
  }
  // Plain objects for callers (no null-prototype surprises in equality checks).
  return out.map((c) => ({ ...c, params: { ...c.params } }));
}
