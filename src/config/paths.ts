// Where selkie keeps things, following the XDG base directories as Podman does.
// Selkie's own layout lives beside Podman's (not inside its storage directory),
// so both can be used by the same user without corrupting each other.
import { lstatSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The invoking user's IDs on the host. Inside the session namespace getuid() is 0. */
export function hostIds(): { uid: number; gid: number } {
  const uid = Number(process.env.SELKIE_HOST_UID ?? process.getuid?.() ?? 0);
  const gid = Number(process.env.SELKIE_HOST_GID ?? process.getgid?.() ?? 0);
  return { uid, gid };
}

function home(): string {
  return process.env.HOME || homedir();
}

/**
 * The per-user directory that holds the session's pause.pid.  It must agree
 * with native/launcher.c, which finds the session before Node starts.
 */
export function sessionDir(): string {
  if (process.env.SELKIE_RUNROOT) return process.env.SELKIE_RUNROOT;
  if (process.env.XDG_RUNTIME_DIR) return join(process.env.XDG_RUNTIME_DIR, 'selkie');
  return `/tmp/selkie-run-${hostIds().uid}`;
}

export interface StorePaths {
  /** persistent: images, layers, container records and writable layers */
  graphRoot: string;
  /** volatile (tmpfs): bundles, rootfs mount points, runtime state */
  runRoot: string;
}

export function defaultStorePaths(overrides: Partial<StorePaths> = {}): StorePaths {
  const dataHome = process.env.XDG_DATA_HOME || join(home(), '.local', 'share');
  return {
    graphRoot: overrides.graphRoot ?? process.env.SELKIE_ROOT ?? join(dataHome, 'selkie', 'storage'),
    runRoot: overrides.runRoot ?? sessionDir(),
  };
}

/** mkdir -p with a mode, refusing a directory that exists but is not ours (e.g. squatted in /tmp). */
export function ensurePrivateDir(path: string, mode = 0o700): void {
  mkdirSync(path, { recursive: true, mode });
  const st = lstatSync(path);
  if (!st.isDirectory()) throw new Error(`${path} exists and is not a directory`);
  if (process.getuid && st.uid !== process.getuid()) {
    throw new Error(`${path} is owned by uid ${st.uid}, not by you: refusing to use it`);
  }
}
