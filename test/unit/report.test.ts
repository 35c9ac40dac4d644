import { describe, expect, it } from 'vitest';
import { camelSplit, renderInspect, renderReport, tabwrite } from '../../src/cli/report';
import { TemplateError } from '../../src/cli/template';

const rows = [
  { ID: 'abc', Image: 'alpine:latest', CreatedAt: 'x', Names: ['n1'] },
  { ID: 'defgh', Image: 'busybox', CreatedAt: 'y', Names: ['n2', 'n3'] },
];
const defaultTable = 'table {{.ID}}\t{{.Image}}\t{{.CreatedAt}}\t{{.Names}}';
const headers = { ID: 'CONTAINER ID' };

describe('tabwrite', () => {
  it('pads tab-terminated cells to the column width + 2, at least 12', () => {
    expect(tabwrite('a\tb\nccc\td')).toBe('a           b\nccc         d');
    expect(tabwrite('a\tb\tc\nlonger-than-twelve\tx\ny\nq\tr\ts')).toBe(
      ['a                   b           c', 'longer-than-twelve  x', 'y', 'q           r           s'].join('\n'),
    );
  });
  it('leaves lines without tabs alone and trims trailing padding', () => {
    expect(tabwrite('plain\nx\t')).toBe('plain\nx');
    expect(tabwrite('')).toBe('');
  });
  it('counts characters, not bytes', () => {
    expect(tabwrite('é\tx\nab\ty')).toBe('é           x\nab          y');
  });
});

describe('camelSplit', () => {
  it('splits like fatih/camelcase', () => {
    expect(camelSplit('CreatedAt')).toEqual(['Created', 'At']);
    expect(camelSplit('ID')).toEqual(['ID']);
    expect(camelSplit('HTTPServer')).toEqual(['HTTP', 'Server']);
    expect(camelSplit('Port8080')).toEqual(['Port', '8080']);
  });
});

describe('renderReport', () => {
  it('uses the default table with headers', () => {
    expect(renderReport(rows, { defaultTable, headers })).toBe(
      [
        'CONTAINER ID  IMAGE          CREATED AT  NAMES',
        'abc           alpine:latest  x           [n1]',
        'defgh         busybox        y           [n2 n3]',
      ].join('\n'),
    );
    expect(renderReport(rows, { format: 'table', defaultTable, headers })).toBe(renderReport(rows, { defaultTable, headers }));
  });
  it('prints only the header for no rows, nothing with noHeading', () => {
    expect(renderReport([], { defaultTable, headers })).toBe('CONTAINER ID  IMAGE       CREATED AT  NAMES');
    expect(renderReport([], { defaultTable, noHeading: true })).toBe('');
    expect(renderReport(rows, { defaultTable, noHeading: true }).split('\n')[0]).toBe('abc         alpine:latest  x           [n1]');
  });
  it('renders user table templates with derived headers', () => {
    expect(renderReport(rows, { format: 'table {{.ID}}\\t{{.Names | join ","}}', defaultTable, headers })).toBe(
      'CONTAINER ID  NAMES\nabc           n1\ndefgh         n2,n3',
    );
  });
  it('renders plain templates one line per row without a header', () => {
    expect(renderReport(rows, { format: '{{.ID}}', defaultTable })).toBe('abc\ndefgh');
    expect(renderReport(rows, { format: '{{.ID}}\\n', defaultTable })).toBe('abc\ndefgh');
    expect(renderReport(rows, { format: '{{.ID}}\\t{{.Image}}', defaultTable })).toBe('abc         alpine:latest\ndefgh       busybox');
    expect(renderReport([], { format: '{{.ID}}', defaultTable })).toBe('');
  });
  it('prints JSON arrays with 4-space indentation', () => {
    const json = renderReport([{ ID: 'a', N: [1] }], { format: 'json', defaultTable });
    expect(json).toBe('[\n    {\n        "ID": "a",\n        "N": [\n            1\n        ]\n    }\n]');
    expect(renderReport([{ ID: 'a', N: [1] }], { format: '{{json .}}', defaultTable })).toBe(json);
    expect(renderReport([], { format: 'json', defaultTable })).toBe('[]');
    expect(renderReport([{ ID: 'a' }], { format: '{{json .ID}}', defaultTable })).toBe('"a"');
  });
  it('surfaces template errors', () => {
    expect(() => renderReport(rows, { format: '{{.ID', defaultTable })).toThrow(TemplateError);
  });
});

describe('renderInspect', () => {
  const objs = [{ Id: 'x', State: { Status: 'running' } }];
  it('prints a JSON array by default', () => {
    const out = '[\n    {\n        "Id": "x",\n        "State": {\n            "Status": "running"\n        }\n    }\n]';
    expect(renderInspect(objs)).toBe(out);
    expect(renderInspect(objs, 'json')).toBe(out);
  });
  it('renders a template once per object', () => {
    expect(renderInspect([...objs, { Id: 'y', State: { Status: 'exited' } }], '{{.Id}} {{.State.Status}}')).toBe('x running\ny exited');
    expect(renderInspect(objs, '{{json .State}}')).toBe('{"Status":"running"}');
  });
});
