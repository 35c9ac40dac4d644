// -v/--volume and --mount, parsed into one shape that the container record
// keeps.  Pure: paths are not resolved here (create does that for binds).
import type { MountSpec } from '../state/containers';
import { NAME_PATTERN } from '../state/names';
import { EngineError } from './errors';

export type { MountSpec };

const PROPAGATION = ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave', 'unbindable', 'runbindable'];
/** accepted for compatibility: SELinux relabelling (no SELinux here) and Docker's consistency hints */
const IGNORED = ['z', 'Z', 'cached', 'delegated', 'consistent'];
// idmap: crun makes the bind an idmapped mount with the container's own
// mapping, where the kernel allows it (not for a host filesystem, rootless).
const PASSED = ['idmap', 'nosuid', 'suid', 'nodev', 'dev', 'noexec', 'exec', 'bind', 'rbind', ...PROPAGATION];

/** idmap=uids=...;gids=...: a mapping of one's own for the mount, which selkie does not offer. */
function customIdmap(option: string, spec: string, flag: string): EngineError | undefined {
  return option.startsWith('idmap=') ? new EngineError(`invalid ${flag} "${spec}": idmap with a mapping of its own is not supported; plain idmap uses the container's`) : undefined;
}

function absolute(path: string, what: string, spec: string): string {
  if (!path.startsWith('/')) throw new EngineError(`invalid ${what} "${spec}": the container path must be absolute`);
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}

/** A -v source that names a host path rather than a volume (Docker's rule). */
export function isHostPath(source: string): boolean {
  return source.startsWith('/') || source.startsWith('.') || source.startsWith('~');
}

/** Podman's rule for volume names is its rule for every name (libpod NameRegex). */
export const VOLUME_NAME = NAME_PATTERN;

/** -v [SOURCE:]DEST[:OPTIONS] */
export function parseVolumeFlag(spec: string): MountSpec {
  const parts = spec.split(':');
  if (parts.length > 3 || parts.some((p) => p === '')) {
    throw new EngineError(`invalid volume specification "${spec}": use [SOURCE:]DESTINATION[:OPTIONS]`);
  }
  let source: string | undefined;
  let dest: string;
  let opts: string[] = [];
  if (parts.length === 1) dest = parts[0];
  else if (parts.length === 3) [source, dest, opts] = [parts[0], parts[1], parts[2].split(',')];
  else if (parts[1].startsWith('/')) [source, dest] = parts;
  else [dest, opts] = [parts[0], parts[1].split(',')];
  const m: MountSpec = {
    type: source !== undefined && isHostPath(source) ? 'bind' : 'volume',
    source,
    destination: absolute(dest, '--volume', spec),
    readOnly: false,
    chown: false,
    noCopy: false,
    options: [],
  };
  if (m.type === 'volume' && source !== undefined && !VOLUME_NAME.test(source)) {
    throw new EngineError(`invalid volume specification "${spec}": "${source}" is neither an absolute path nor a valid volume name`);
  }
  for (const o of opts) {
    if (o === 'ro' || o === 'rw') m.readOnly = o === 'ro';
    else if (o === 'U') m.chown = true;
    else if (o === 'nocopy') m.noCopy = true;
    else if (o === 'copy') m.noCopy = false;
    else if (IGNORED.includes(o)) continue;
    else if (PASSED.includes(o)) m.options.push(o);
    else throw customIdmap(o, spec, 'volume specification') ?? new EngineError(`invalid volume specification "${spec}": unknown option "${o}"`);
  }
  return m;
}

function boolValue(v: string | undefined, key: string, spec: string): boolean {
  if (v === undefined || v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new EngineError(`invalid --mount "${spec}": ${key} must be true or false`);
}

/** --mount type=bind|volume|tmpfs,src=...,dst=...[,ro][,...] */
export function parseMountFlag(spec: string): MountSpec {
  const kv = new Map<string, string | undefined>();
  for (const field of spec.split(',')) {
    if (!field) continue;
    const eq = field.indexOf('=');
    kv.set(eq < 0 ? field : field.slice(0, eq), eq < 0 ? undefined : field.slice(eq + 1));
  }
  const type = kv.get('type') ?? 'volume';
  if (type !== 'bind' && type !== 'volume' && type !== 'tmpfs') {
    throw new EngineError(`invalid --mount "${spec}": type "${type}" is not supported (bind, volume or tmpfs)`);
  }
  kv.delete('type');
  const dst = kv.get('dst') ?? kv.get('destination') ?? kv.get('target');
  if (!dst) throw new EngineError(`invalid --mount "${spec}": a destination (dst=) is required`);
  const source = kv.get('src') ?? kv.get('source');
  const m: MountSpec = { type, source, destination: absolute(dst, '--mount', spec), readOnly: false, chown: false, noCopy: false, options: [] };
  if (type === 'tmpfs') m.options.push('rw', 'nosuid', 'nodev');
  for (const [key, value] of kv) {
    switch (key) {
      case 'src': case 'source': case 'dst': case 'destination': case 'target':
        break;
      case 'ro': case 'readonly':
        m.readOnly = boolValue(value, key, spec);
        break;
      case 'rw':
        m.readOnly = !boolValue(value, key, spec);
        break;
      case 'U': case 'chown':
        m.chown = boolValue(value, key, spec);
        break;
      case 'volume-nocopy': case 'nocopy':
        m.noCopy = boolValue(value, key, spec);
        break;
      case 'relabel': case 'z': case 'Z': case 'consistency':
        break;
      case 'bind-propagation':
        if (!value || !PROPAGATION.includes(value)) throw new EngineError(`invalid --mount "${spec}": bad bind-propagation "${value}"`);
        m.options.push(value);
        break;
      case 'tmpfs-size':
        if (!value || !/^\d+[kmgKMG]?$/.test(value)) throw new EngineError(`invalid --mount "${spec}": bad tmpfs-size "${value}"`);
        m.options.push(`size=${value.toLowerCase()}`);
        break;
      case 'tmpfs-mode':
        if (!value || !/^[0-7]{1,4}$/.test(value)) throw new EngineError(`invalid --mount "${spec}": tmpfs-mode must be octal`);
        m.options.push(`mode=${value}`);
        break;
      default:
        if (PASSED.includes(key) && value === undefined) m.options.push(key);
        else throw customIdmap(`${key}=`, spec, '--mount') ?? new EngineError(`invalid --mount "${spec}": unknown option "${key}"`);
    }
  }
  if (type === 'bind' && !source) throw new EngineError(`invalid --mount "${spec}": a bind mount needs src=`);
  if (type === 'tmpfs' && source) throw new EngineError(`invalid --mount "${spec}": a tmpfs has no src`);
  if (type === 'tmpfs' && m.options.includes('idmap')) throw new EngineError(`invalid --mount "${spec}": idmap applies to bind mounts and volumes`);
  if (type === 'volume' && source !== undefined && !VOLUME_NAME.test(source)) {
    throw new EngineError(`invalid --mount "${spec}": "${source}" is not a valid volume name`);
  }
  return m;
}

/** All mounts of the command line; a destination used twice is an error (Podman's). */
export function parseMounts(volumes: string[] = [], mounts: string[] = []): MountSpec[] {
  const out = [...volumes.map(parseVolumeFlag), ...mounts.map(parseMountFlag)];
  const seen = new Set<string>();
  for (const m of out) {
    if (seen.has(m.destination)) throw new EngineError(`${m.destination}: duplicate mount destination`);
    seen.add(m.destination);
  }
  return out;
}
