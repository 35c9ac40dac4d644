import { describe, expect, it } from 'vitest';
import { formatHelp, parseArgs, UsageError, type OptionSpec } from '../../src/cli/parse';

const specs: OptionSpec[] = [
  { long: 'env', short: 'e', type: 'string', multiple: true, help: '' },
  { long: 'name', type: 'string', help: '' },
  { long: 'rm', type: 'boolean', help: '' },
  { long: 'interactive', short: 'i', type: 'boolean', help: '' },
  { long: 'tty', short: 't', type: 'boolean', help: '' },
  { long: 'hostname', short: 'h', type: 'string', help: '' },
  { long: 'net', type: 'string', key: 'network', help: '' },
  { long: 'read-only', type: 'boolean', help: '' },
];

describe('parseArgs (pflag rules)', () => {
  it('stops at the image for run: the rest is the container command, flags included', () => {
    const p = parseArgs(['--rm', '-it', '-e', 'A=1', '-eB=2', '-e=C=3', '--name=x', 'img', 'sh', '-c', 'echo --rm'], specs, true);
    expect(p.options).toEqual({ env: ['A=1', 'B=2', 'C=3'], rm: true, interactive: true, tty: true, name: 'x' });
    expect(p.args).toEqual(['img', 'sh', '-c', 'echo --rm']);
  });
  it('allows options after positionals for other commands, and -- to end them', () => {
    const p = parseArgs(['c1', '--rm', 'c2', '--', '--not-a-flag'], specs);
    expect(p.args).toEqual(['c1', 'c2', '--not-a-flag']);
    expect(p.options.rm).toBe(true);
  });
  it('takes boolean values, camel-cases names, honours keys', () => {
    expect(parseArgs(['--rm=false', '--read-only=true', '--net', 'host'], specs).options).toEqual({ env: [], rm: false, readOnly: true, network: 'host' });
    expect(parseArgs(['-hbox'], specs).options.hostname).toBe('box');
  });
  it('says what is wrong in pflag\'s words', () => {
    expect(() => parseArgs(['--bogus'], specs)).toThrow(new UsageError('unknown flag: --bogus'));
    expect(() => parseArgs(['-z'], specs)).toThrow("unknown shorthand flag: 'z' in -z");
    expect(() => parseArgs(['-iz'], specs)).toThrow("unknown shorthand flag: 'z' in -iz");
    expect(() => parseArgs(['--name'], specs)).toThrow('flag needs an argument: --name');
    expect(() => parseArgs(['-e'], specs)).toThrow("flag needs an argument: 'e' in -e");
    expect(() => parseArgs(['--rm=maybe'], specs)).toThrow(/invalid argument "maybe" for "--rm" flag/);
  });
  it('formats help with every visible flag', () => {
    const h = formatHelp('selkie run IMAGE', 'Run', specs);
    expect(h).toContain('-e, --env stringArray');
    expect(h).toContain('    --rm ');
  });
});
