import { describe, expect, it } from 'vitest';
import { TemplateError, compileTemplate, normalizeFormat, renderHeader } from '../../src/cli/template';

const data = {
  ID: 'abcdef1234567890',
  Names: ['web', 'db'],
  Labels: { k: 'v', a: '1' },
  Count: 3,
  Running: true,
  Nothing: null,
  Config: { Image: 'alpine', Env: [] as string[] },
};
const run = (src: string, d: unknown = data) => compileTemplate(src)(d);

describe('normalizeFormat', () => {
  it('turns typed \\t and \\n into tab and newline', () => {
    expect(normalizeFormat('{{.ID}}\\t{{.Names}}\\n')).toBe('{{.ID}}\t{{.Names}}\n');
  });
});

describe('fields and printing', () => {
  it('prints fields as Go does', () => {
    expect(run('id={{.ID}} {{.Config.Image}}')).toBe('id=abcdef1234567890 alpine');
    expect(run('{{.Names}} {{.Labels}} {{.Count}} {{.Running}}')).toBe('[web db] map[a:1 k:v] 3 true');
    expect(run('{{.Nothing}} {{.Missing}} {{.Config.Missing.Deeper}}')).toBe('<no value> <no value> <no value>');
    expect(run('{{.}}', { b: [1, null], a: 1.5 })).toBe('map[a:1.5 b:[1 <nil>]]');
    expect(run('{{.}}', 1e21)).toBe('1e+21');
    expect(run('{{.}}', 123456789012)).toBe('123456789012');
    expect(run('{{$.Count}} {{range .Names}}{{$.Count}}{{end}} {{$}}', { Count: 3, Names: [1, 2] })).toBe('3 33 map[Count:3 Names:[1 2]]');
  });
  it('reads Map values and getters', () => {
    expect(run('{{.a}}', new Map([['a', 'b']]))).toBe('b');
    class Row {
      get Upper() {
        return 'UP';
      }
    }
    expect(run('{{.Upper}} {{.toString}}', new Row())).toBe('UP <no value>');
  });
  it('fails on fields of non-objects', () => {
    expect(() => run('{{.ID.Foo}}')).toThrow(/can't evaluate field Foo in type string/);
  });
  it('handles literals', () => {
    expect(run('{{"a\\tb"}}|{{`r\\n`}}|{{42}}|{{-3}}|{{0x1F}}|{{1.5}}|{{\'a\'}}|{{true}}|{{nil}}')).toBe('a\tb|r\\n|42|-3|31|1.5|97|true|<no value>');
  });
});

describe('functions and pipelines', () => {
  it('json', () => {
    expect(run('{{json .Config}}')).toBe('{"Image":"alpine","Env":[]}');
    expect(run('{{json .Nothing}} {{json "a<b"}}')).toBe('null "a<b"');
  });
  it('string helpers', () => {
    expect(run('{{lower "ABC"}} {{upper "abc"}} {{title "hello big world"}}')).toBe('abc ABC Hello Big World');
    expect(run('{{join .Names ","}} {{.Names | join ", "}}')).toBe('web,db web, db');
    expect(run('{{truncate .ID 12}} {{truncate "ab" 5}} {{split "a:b" ":"}}')).toBe('abcdef123456 ab [a b]');
    expect(run('{{contains .ID "def"}} {{hasPrefix .ID "abc"}} {{hasSuffix .ID "x"}}')).toBe('true true false');
    expect(run('{{replace "aaa" "a" "b"}} {{replace "aaa" "a" "b" 1}}')).toBe('bbb baa');
    expect(run('{{pad "x" 1 2}}|')).toBe(' x  |');
  });
  it('len and index', () => {
    expect(run('{{len .Names}} {{len .ID}} {{len .Labels}}')).toBe('2 16 2');
    expect(run('{{index .Labels "k"}} {{index .Labels "zz"}} {{index .Names 1}}')).toBe('v <no value> db');
    expect(() => run('{{index .Names 5}}')).toThrow(/index out of range: 5/);
  });
  it('printf', () => {
    expect(run('{{printf "%-6s|%6s|%d|%05d|%x|%q|%t|%v" "ab" "cd" 42 -42 255 "q\\"" true .Names}}')).toBe('ab    |    cd|42|-0042|ff|"q\\""|true|[web db]');
    expect(run('{{printf "%.2f %s" 3.14159 .Names}}')).toBe('3.14 [web db]');
    expect(run('{{printf "%d %s" "x"}}')).toBe('%!d(string=x) %!s(MISSING)');
    expect(run('{{printf "%s" 1 2}}')).toBe('%!s(int=1)%!(EXTRA int=2)');
    expect(run('{{printf "100%%"}}')).toBe('100%');
  });
  it('passes the piped value as the last argument', () => {
    expect(run('{{.ID | printf "<%s>"}}')).toBe('<abcdef1234567890>');
    expect(run('{{"abc" | upper | printf "%s!"}}')).toBe('ABC!');
    expect(run('{{printf "%s-%s" (upper .ID) (index .Names 0)}}')).toBe('ABCDEF1234567890-web');
  });
  it('comparisons and logic', () => {
    expect(run('{{eq .Count 3}} {{ne .Count 3}} {{lt 1 2}} {{le 2 2}} {{gt "b" "a"}} {{ge 1 2}}')).toBe('true false true true true false');
    expect(run('{{eq .ID "x" "abcdef1234567890"}} {{eq .Nothing nil}} {{eq .Nothing "x"}}')).toBe('true true false');
    expect(run('{{not .Running}} {{and .Running .Count}} {{or .Nothing "dflt"}} {{and .Nothing .Boom.X}}')).toBe('false 3 dflt <no value>');
    expect(() => run('{{eq .Count "3"}}')).toThrow(/incompatible types/);
  });
  it('print and println', () => {
    expect(run('{{print 1 2 "a" 3}}|{{println "x" 1}}')).toBe('1 2a3|x 1\n');
  });
});

describe('actions', () => {
  it('if / else if / else', () => {
    const t = compileTemplate('{{if .A}}a{{else if .B}}b{{else}}c{{end}}');
    expect([t({ A: 1 }), t({ B: 'x' }), t({ A: 0, B: '' })]).toEqual(['a', 'b', 'c']);
    expect(run('{{if .Config.Env}}env{{else}}none{{end}} {{if .Labels}}l{{end}}')).toBe('none l');
  });
  it('range', () => {
    expect(run('{{range .Names}}<{{.}}>{{end}}')).toBe('<web><db>');
    expect(run('{{range $i, $e := .Names}}{{$i}}={{$e}} {{end}}')).toBe('0=web 1=db ');
    expect(run('{{range $k, $v := .Labels}}{{$k}}:{{$v}},{{end}}')).toBe('a:1,k:v,');
    expect(run('{{range .Config.Env}}x{{else}}empty{{end}}')).toBe('empty');
    expect(run('{{range .Names}}{{if eq . "db"}}{{break}}{{end}}{{.}}{{$.Count}}{{end}}')).toBe('web3');
    expect(run('{{range .Names}}{{if eq . "web"}}{{continue}}{{end}}{{.}}{{end}}')).toBe('db');
    expect(run('{{range 3}}{{.}}{{end}}')).toBe('012');
  });
  it('with and variables', () => {
    expect(run('{{with .Config}}{{.Image}}{{end}} {{with .Nothing}}x{{else}}none{{end}}')).toBe('alpine none');
    expect(run('{{$x := .Count}}{{$x}} {{$x = 5}}{{$x}} {{with $c := .Config}}{{$c.Image}}{{end}}')).toBe('3 5 alpine');
  });
  it('trims whitespace and drops comments', () => {
    expect(run('a  {{- .Count -}}  b {{/* c */}}|{{- /* d */ -}} e')).toBe('a3b |e');
    expect(run('x\n  {{- "y" }}\n')).toBe('xy\n');
  });
});

describe('errors', () => {
  it('rejects malformed templates at compile time', () => {
    for (const src of ['{{foo .X}}', '{{if .X}}', '{{end}}', '{{.ID', '{{$y}}', '{{else}}', '{{"unterminated}}', '{{range .X}}{{end}}{{break}}', '{{.A | }}']) {
      expect(() => compileTemplate(src), src).toThrow(TemplateError);
    }
    expect(() => compileTemplate('{{nope}}')).toThrow('template: function "nope" not defined');
  });
  it('rejects arguments to non-functions at run time', () => {
    expect(() => run('{{.ID "x"}}')).toThrow(TemplateError);
  });
});

describe('renderHeader', () => {
  it('names each action after its first field', () => {
    const h = renderHeader('{{.ID}}\t{{.Names | join ","}}\t{{if .X}}{{.CreatedAt}}{{end}}\t{{"lit"}}', (p) => p.join('.').toUpperCase());
    expect(h).toBe('ID\tNAMES\tCREATEDAT\t');
  });
});
