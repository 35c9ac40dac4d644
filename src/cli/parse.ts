// Command-line parsing with Docker's and Podman's (pflag) rules and words:
// `-it`, `-eK=V`, `--name=x`, `--rm=false`, options after positionals, and
// for run/create everything after the image is the container's command.
// Errors use pflag's texts, which scripts match on.

export interface OptionSpec {
  long: string;
  short?: string;
  /** 'boolean' flags take no value (but accept --flag=false) */
  type: 'boolean' | 'string';
  multiple?: boolean;
  help: string;
  hidden?: boolean;
  /** the name under which the value is stored, when not the long name */
  key?: string;
}

export class UsageError extends Error {}

export interface Parsed {
  options: Record<string, unknown>;
  args: string[];
}

function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function parseBool(value: string, flag: string): boolean {
  if (/^(1|t|true|TRUE|True)$/.test(value)) return true;
  if (/^(0|f|false|FALSE|False)$/.test(value)) return false;
  throw new UsageError(`invalid argument "${value}" for "${flag}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`);
}

/**
 * Parses argv against the option specs.  With stopAtPositional, the first
 * positional argument ends option parsing (the image of `run`): it and all
 * that follows are positionals, verbatim.
 */
export function parseArgs(argv: string[], specs: OptionSpec[], stopAtPositional = false): Parsed {
  const byLong = new Map(specs.map((s) => [s.long, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]));
  const options: Record<string, unknown> = {};
  for (const s of specs) if (s.multiple) options[s.key ?? camel(s.long)] = [];
  const args: string[] = [];

  const store = (spec: OptionSpec, value: string | boolean) => {
    const key = spec.key ?? camel(spec.long);
    if (spec.multiple) (options[key] as unknown[]).push(value);
    else options[key] = value;
  };

  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--') && a.length > 2) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const spec = byLong.get(name);
      if (!spec) throw new UsageError(`unknown flag: --${name}`);
      if (spec.type === 'boolean') {
        store(spec, eq < 0 ? true : parseBool(a.slice(eq + 1), `--${name}`));
      } else if (eq >= 0) {
        store(spec, a.slice(eq + 1));
      } else {
        if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: --${name}`);
        store(spec, argv[++i]);
      }
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      // A cluster of short flags: -it, -eK=V, -e K=V, -p8080:80
      for (let j = 1; j < a.length; j++) {
        const c = a[j];
        const spec = byShort.get(c);
        if (!spec) throw new UsageError(`unknown shorthand flag: '${c}' in ${a}`);
        if (spec.type === 'boolean') {
          if (a[j + 1] === '=') {
            store(spec, parseBool(a.slice(j + 2), `-${c}`));
            break;
          }
          store(spec, true);
          continue;
        }
        let value = a.slice(j + 1);
        if (value.startsWith('=')) value = value.slice(1);
        else if (value === '') {
          if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: '${c}' in -${c}`);
          value = argv[++i];
        }
        store(spec, value);
        break;
      }
      continue;
    }
    if (stopAtPositional) {
      args.push(...argv.slice(i));
      break;
    }
    args.push(a);
  }
  return { options, args };
}

/** The help text of one command, in Podman's layout. */
export function formatHelp(usage: string, description: string, specs: OptionSpec[]): string {
  const rows = specs
    .filter((s) => !s.hidden)
    .map((s) => {
      const flag = `${s.short ? `-${s.short}, ` : '    '}--${s.long}${s.type === 'string' ? ` ${s.multiple ? 'stringArray' : 'string'}` : ''}`;
      return [flag, s.help] as const;
    });
  const width = Math.max(0, ...rows.map(([f]) => f.length));
  const lines = [description, '', 'Usage:', `  ${usage}`];
  if (rows.length) {
    lines.push('', 'Options:');
    for (const [f, h] of rows) lines.push(`  ${f.padEnd(width)}   ${h}`);
  }
  return lines.join('\n') + '\n';
}
