// --change instructions (import, commit): the Dockerfile instructions that
// only alter an image's config.
import { EngineError } from './errors';

const DEFAULT_ENV = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];
const INSTRUCTIONS = 'CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR';

/** A JSON array of strings, or undefined when text is not one. */
function jsonArray(text: string): string[] | undefined {
  if (!text.startsWith('[')) return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  } catch {
    /* not JSON: the caller's plain form */
  }
  return undefined;
}

/** JSON array form, or the shell form wrapped in /bin/sh -c. */
function commandForm(text: string): string[] {
  return jsonArray(text) ?? ['/bin/sh', '-c', text];
}

/** KEY=VALUE pairs (quotes allowed), or the legacy "KEY VALUE" form. */
function pairs(text: string): [string, string][] {
  if (!text.includes('=')) {
    const sp = text.search(/\s/);
    if (sp < 0) throw new EngineError(`invalid instruction argument "${text}": expected KEY=VALUE`);
    return [[text.slice(0, sp), text.slice(sp).trim()]];
  }
  const out: [string, string][] = [];
  const re = /([^\s=]+)=("((?:[^"\\]|\\.)*)"|'([^']*)'|(\S*))/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) out.push([m[1], m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : (m[4] ?? m[5] ?? '')]);
  return out;
}

/** A copy of a map-valued config member (Docker writes null for empty ones). */
function mapOf<T>(v: unknown): Record<string, T> {
  return v && typeof v === 'object' && !Array.isArray(v) ? { ...(v as Record<string, T>) } : {};
}

function listOf(v: unknown): string[] | undefined {
  return Array.isArray(v) ? [...(v as string[])] : undefined;
}

/**
 * Applies --change instructions on top of `base` (the `config` member of an
 * image config) and returns the result; base itself is left alone.  ENV,
 * LABEL, EXPOSE, VOLUME and ONBUILD add to what base has; the others replace.
 */
export function applyChanges(base: Record<string, unknown>, changes: string[] = []): Record<string, unknown> {
  const config: Record<string, unknown> = { ...base };
  for (const change of changes) {
    const m = /^\s*(\w+)\s*(.*)$/s.exec(change);
    if (!m) throw new EngineError(`invalid change "${change}": expected an instruction (${INSTRUCTIONS}) and its argument`);
    const word = m[1].toUpperCase();
    const rest = m[2].trim();
    if (!INSTRUCTIONS.split(', ').includes(word)) {
      throw new EngineError(`invalid change "${change}": ${m[1]} is not one of ${INSTRUCTIONS}`);
    }
    if (rest === '') throw new EngineError(`invalid change "${change}": ${word} needs an argument`);
    switch (word) {
      case 'CMD':
        config.Cmd = commandForm(rest);
        break;
      case 'ENTRYPOINT':
        config.Entrypoint = commandForm(rest);
        break;
      case 'WORKDIR':
        config.WorkingDir = rest;
        break;
      case 'USER':
        config.User = rest;
        break;
      case 'STOPSIGNAL':
        if (!/^(SIG)?[A-Z0-9+-]+$|^[0-9]+$/i.test(rest)) throw new EngineError(`invalid change "${change}": "${rest}" is not a signal`);
        config.StopSignal = rest;
        break;
      case 'ONBUILD':
        config.OnBuild = [...(listOf(config.OnBuild) ?? []), rest];
        break;
      case 'ENV': {
        const env = listOf(config.Env) ?? [...DEFAULT_ENV];
        for (const [k, v] of pairs(rest)) {
          const i = env.findIndex((e) => e.startsWith(`${k}=`));
          if (i >= 0) env[i] = `${k}=${v}`;
          else env.push(`${k}=${v}`);
        }
        config.Env = env;
        break;
      }
      case 'LABEL': {
        const labels = mapOf<string>(config.Labels);
        for (const [k, v] of pairs(rest)) labels[k] = v;
        config.Labels = labels;
        break;
      }
      case 'EXPOSE': {
        const ports = mapOf<object>(config.ExposedPorts);
        for (const p of rest.split(/\s+/)) {
          if (!/^[0-9]+(-[0-9]+)?(\/(tcp|udp|sctp))?$/i.test(p)) throw new EngineError(`invalid change "${change}": "${p}" is not a port`);
          ports[p.includes('/') ? p.toLowerCase() : `${p}/tcp`] = {};
        }
        config.ExposedPorts = ports;
        break;
      }
      case 'VOLUME': {
        const vols = mapOf<object>(config.Volumes);
        for (const v of jsonArray(rest) ?? rest.split(/\s+/)) vols[v] = {};
        config.Volumes = vols;
        break;
      }
    }
  }
  return config;
}

/** The changes alone (import: there is no base config). */
export function parseChanges(changes: string[] = []): Record<string, unknown> {
  return applyChanges({}, changes);
}
