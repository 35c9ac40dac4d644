// --change instructions (import, and commit later): the Dockerfile
// instructions that only alter an image's config.
import { EngineError } from './errors';

/** JSON array form, or the shell form wrapped in /bin/sh -c. */
function commandForm(text: string): string[] {
  const t = text.trim();
  if (t.startsWith('[')) {
    try {
      const v = JSON.parse(t) as unknown;
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
    } catch {
      /* fall through to the shell form */
    }
  }
  return ['/bin/sh', '-c', t];
}

/** KEY=VALUE pairs (quotes allowed), or the legacy "KEY VALUE" form. */
function pairs(text: string): [string, string][] {
  const t = text.trim();
  if (!t.includes('=')) {
    const sp = t.search(/\s/);
    if (sp < 0) throw new EngineError(`invalid instruction argument "${t}": expected KEY=VALUE`);
    return [[t.slice(0, sp), t.slice(sp).trim()]];
  }
  const out: [string, string][] = [];
  const re = /([^\s=]+)=("((?:[^"\\]|\\.)*)"|'([^']*)'|(\S*))/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(t))) out.push([m[1], m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : (m[4] ?? m[5] ?? '')]);
  return out;
}

export function parseChanges(changes: string[] = []): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  for (const change of changes) {
    const m = /^\s*(\w+)\s*(.*)$/s.exec(change);
    if (!m) throw new EngineError(`invalid change "${change}"`);
    const [, word, rest] = m;
    switch (word.toUpperCase()) {
      case 'CMD':
        config.Cmd = commandForm(rest);
        break;
      case 'ENTRYPOINT':
        config.Entrypoint = commandForm(rest);
        break;
      case 'WORKDIR':
        config.WorkingDir = rest.trim();
        break;
      case 'USER':
        config.User = rest.trim();
        break;
      case 'STOPSIGNAL':
        config.StopSignal = rest.trim();
        break;
      case 'ENV': {
        const env = (config.Env as string[] | undefined) ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];
        for (const [k, v] of pairs(rest)) {
          const i = env.findIndex((e) => e.startsWith(`${k}=`));
          if (i >= 0) env[i] = `${k}=${v}`;
          else env.push(`${k}=${v}`);
        }
        config.Env = env;
        break;
      }
      case 'LABEL': {
        const labels = (config.Labels as Record<string, string> | undefined) ?? {};
        for (const [k, v] of pairs(rest)) labels[k] = v;
        config.Labels = labels;
        break;
      }
      case 'EXPOSE': {
        const ports = (config.ExposedPorts as Record<string, object> | undefined) ?? {};
        for (const p of rest.trim().split(/\s+/)) ports[p.includes('/') ? p : `${p}/tcp`] = {};
        config.ExposedPorts = ports;
        break;
      }
      case 'VOLUME': {
        const vols = (config.Volumes as Record<string, object> | undefined) ?? {};
        for (const v of commandForm(rest)[0] === '/bin/sh' ? rest.trim().split(/\s+/) : commandForm(rest)) vols[v] = {};
        config.Volumes = vols;
        break;
      }
      default:
        throw new EngineError(`invalid change "${change}": ${word} is not one of CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR`);
    }
  }
  return config;
}
