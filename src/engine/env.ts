// A container's environment: the image's, then --env-file, then -e, as
// Docker merges them.  Its own module: exec merges with it too.
import { EngineError } from './errors';

export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** KEY=VALUE, or KEY alone to copy the caller's value (dropped when unset), as Docker. */
function envEntry(spec: string, into: Map<string, string>): void {
  const eq = spec.indexOf('=');
  if (eq === 0) throw new EngineError(`invalid environment variable "${spec}": empty name`);
  if (eq > 0) {
    into.set(spec.slice(0, eq), spec.slice(eq + 1));
  } else if (process.env[spec] !== undefined) {
    into.set(spec, process.env[spec]!);
  }
}

export function parseEnvFile(text: string, file: string, into: Map<string, string>): void {
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (!line.trim() || line.trimStart().startsWith('#')) continue;
    if (/\s/.test(line.split('=')[0])) throw new EngineError(`invalid environment variable in ${file}: "${line}" has white space in its name`);
    envEntry(line, into);
  }
}

/** The image's environment, then --env-file, then -e (later wins). */
export function mergeEnv(image: string[] | null | undefined, files: { text: string; file: string }[], env: string[]): string[] {
  const m = new Map<string, string>();
  for (const e of image ?? []) envEntry(e.includes('=') ? e : `${e}=`, m);
  if (!m.has('PATH')) m.set('PATH', DEFAULT_PATH.slice(5));
  for (const f of files) parseEnvFile(f.text, f.file, m);
  for (const e of env) envEntry(e, m);
  return [...m].map(([k, v]) => `${k}=${v}`);
}
