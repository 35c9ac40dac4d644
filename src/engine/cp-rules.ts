// What `cp` copies where: the argument syntax (CONTAINER:PATH, host path,
// "-") and Docker's documented rules for SRC and DEST (file or directory,
// existing or not, "dir/." for a directory's contents), with Podman's error
// texts.  Pure: the caller looks the paths up and passes what it found.
import { posix } from 'node:path';
import { EngineError } from './errors';

export type CpLocation =
  | { kind: 'container'; container: string; path: string }
  | { kind: 'host'; path: string }
  | { kind: 'stream' };

/** "-" is a tar stream; an absolute or "."-relative path is the host's even with a colon in it. */
export function parseLocation(arg: string): CpLocation {
  if (arg === '-') return { kind: 'stream' };
  if (arg.startsWith('/') || arg.startsWith('.')) return { kind: 'host', path: arg };
  const colon = arg.indexOf(':');
  if (colon < 0) return { kind: 'host', path: arg };
  if (colon === 0) throw new EngineError(`invalid argument "${arg}": no container name before ":"`);
  return { kind: 'container', container: arg.slice(0, colon), path: arg.slice(colon + 1) };
}

export type CpSides =
  | { src: Extract<CpLocation, { kind: 'container' }>; dest: Exclude<CpLocation, { kind: 'container' }> }
  | { src: Exclude<CpLocation, { kind: 'container' }>; dest: Extract<CpLocation, { kind: 'container' }> };

/** Exactly one side is a container. */
export function parseCpArgs(srcArg: string, destArg: string): CpSides {
  if (srcArg === '' || destArg === '') throw new EngineError(`invalid arguments "${srcArg}", "${destArg}": you must specify paths`);
  const src = parseLocation(srcArg);
  const dest = parseLocation(destArg);
  if (src.kind === 'container' && dest.kind === 'container') {
    throw new EngineError('copying between containers is not supported yet: copy to the host first');
  }
  if (src.kind === 'container' && dest.kind !== 'container') return { src, dest };
  if (dest.kind === 'container' && src.kind !== 'container') return { src, dest };
  throw new EngineError(`invalid arguments "${srcArg}", "${destArg}": you must use just one container`);
}

/**
 * "none": a plain path; "slash": it ends with "/" (must be a directory);
 * "dot": it ends with "/." (a directory's contents).
 */
export type Suffix = 'none' | 'slash' | 'dot';

export interface CpPath {
  /** absolute, lexically clean, no trailing "/" (unless it is "/") */
  path: string;
  suffix: Suffix;
}

function suffixOf(given: string): Suffix {
  if (given === '.' || given.endsWith('/.')) return 'dot';
  if (given.endsWith('/')) return 'slash';
  return 'none';
}

function clean(abs: string, given: string): CpPath {
  let path = posix.normalize(abs);
  if (path.length > 1) path = path.replace(/\/+$/, '');
  return { path, suffix: suffixOf(given) };
}

/** A container path: relative ones are relative to the container's working directory, as in Podman. */
export function containerPath(given: string, workdir: string): CpPath {
  return clean(given.startsWith('/') ? given : posix.join('/', workdir || '/', given || '.'), given);
}

export function hostPath(given: string, cwd: string): CpPath {
  return clean(posix.resolve(cwd, given), given);
}

/** `"PATH" could not be found on container X: why`, Podman's words. */
export function notFound(arg: string, where: string, why: string): EngineError {
  return new EngineError(`"${arg}" could not be found on ${where}: ${why}`);
}

/** The copied item's name in the archive; null: a directory's contents ("dir/." or "/"). */
export function sourceName(src: CpPath): string | null {
  if (src.suffix === 'dot' || src.path === '/') return null;
  return posix.basename(src.path);
}

export interface Found {
  exists: boolean;
  isDir: boolean;
}

export interface CopyPlan {
  /** extract into the destination directory itself, or into its parent */
  into: 'dest' | 'parent';
  /** the name the source gets there; null: the source directory's contents */
  name: string | null;
}

/**
 * Docker's rules.  src is what SRC resolved to; dest what DEST resolved to
 * (its final symlinks followed), with destArg and where for messages.
 */
export function planCopy(src: CpPath & { isDir: boolean }, dest: CpPath & Found, destArg: string, where: string): CopyPlan {
  if (!dest.exists) {
    // Only the last component may be missing, and only when nothing says it is a directory.
    if (dest.suffix !== 'none') throw notFound(destArg, where, 'no such file or directory');
    return { into: 'parent', name: posix.basename(dest.path) };
  }
  if (dest.isDir) return { into: 'dest', name: sourceName(src) };
  if (src.isDir) throw new EngineError('destination must be a directory when copying a directory');
  if (dest.suffix !== 'none') throw notFound(destArg, where, 'not a directory');
  return { into: 'parent', name: posix.basename(dest.path) };
}

/** A tar stream from stdin is extracted into an existing directory only. */
export function checkStreamDest(dest: Found): void {
  if (!dest.exists || !dest.isDir) throw new EngineError('destination must be a directory when copying from stdin');
}
