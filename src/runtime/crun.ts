// Calling the OCI runtime.  crun runs as root of the session namespace and
// creates the container's own user namespace from the spec's mappings: run
// inside a namespace whose root is not the session's root, crun could not
// reach a bundle under the user's private directories (see DESIGN.md).
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { sessionDir } from '../config/paths';
import { MNT_DETACH, MS_BIND, MS_RDONLY, MS_REMOUNT, native } from '../native/index';

/** The runtime as installed (what `info` reports). */
export const RUNTIME = process.env.SELKIE_RUNTIME || '/usr/bin/crun';

let chosen: string | undefined;

/** The path this process runs the runtime by (see readOnlyRuntime). */
export function runtimeBinary(): string {
  return (chosen ??= readOnlyRuntime() ?? RUNTIME);
}

/**
 * crun guards its binary against a container that would overwrite it through
 * /proc/PID/exe (CVE-2019-5736): at every start it bind-mounts itself
 * read-only at a temporary file and executes itself again from there (~1.3
 * ms of each call: the mounts, a second exec and dynamic linking).  It skips
 * that when it already runs from a read-only mount and
 * _LIBCONTAINER_CLONED_BINARY is set.  The session's mount namespace is ours:
 * one read-only bind mount of the runtime there, made on first use and kept
 * while the session lives, serves every call.  Made again when the runtime
 * was replaced (an upgrade gives it a new inode).  Anything amiss: the
 * runtime's own path, and crun guards itself as before.
 */
function readOnlyRuntime(): string | undefined {
  if (!process.env.SELKIE_SESSION) return undefined;
  const dir = join(sessionDir(), 'runtime');
  const path = join(dir, basename(RUNTIME));
  try {
    const want = statSync(RUNTIME);
    const have = statSync(path, { throwIfNoEntry: false });
    if (!have || have.ino !== want.ino || have.dev !== want.dev) {
      if (have?.size) native().umount(path, MNT_DETACH); // a replaced runtime's
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      closeSync(openSync(path, 'a', 0o600));
      native().mount(RUNTIME, path, null, MS_BIND, null);
      try {
        native().mount(null, path, null, MS_BIND | MS_REMOUNT | MS_RDONLY, null);
      } catch (err) {
        native().umount(path, MNT_DETACH);
        throw err;
      }
    }
  } catch {
    return undefined;
  }
  process.env._LIBCONTAINER_CLONED_BINARY = '1';
  return path;
}

/** Global options: cgroups are off (rootless cgroup v1 cannot be used at all). */
export function runtimeArgs(root: string, log?: string): string[] {
  const args = ['--cgroup-manager=disabled', `--root=${root}`];
  if (log) args.push(`--log=${log}`, '--log-format=json');
  return args;
}

export function runArgs(root: string, bundle: string, id: string, pidFile: string, log: string): string[] {
  return [...runtimeArgs(root, log), 'run', `--bundle=${bundle}`, `--pid-file=${pidFile}`, id];
}

/** The error messages crun wrote to its JSON log (one object per line). */
export function runtimeErrors(log: string): string[] {
  if (!existsSync(log)) return [];
  const out: string[] = [];
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string };
      if (entry.level === 'error' && entry.msg) out.push(entry.msg);
    } catch {
      out.push(line.trim());
    }
  }
  return out;
}

/** Kills and forgets a container crun may still know (after a killed selkie). */
export function forceDelete(root: string, id: string): void {
  if (!existsSync(`${root}/${id}`)) return;
  spawnSync(runtimeBinary(), [...runtimeArgs(root), 'delete', '--force', id], { stdio: 'ignore' });
}

export function runtimeVersion(): string | undefined {
  const r = spawnSync(RUNTIME, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n')[0] : undefined;
}

/** `crun start`: runs the process of a created container. */
export function startContainer(root: string, id: string, log: string): { ok: boolean; stderr: string } {
  const r = spawnSync(runtimeBinary(), [...runtimeArgs(root, log), 'start', id], { encoding: 'utf8' });
  return { ok: r.status === 0, stderr: (r.stderr ?? '').trim() };
}

/** `crun kill`: false when the container is gone already. */
export function killContainer(root: string, id: string, signal: string): boolean {
  const r = spawnSync(runtimeBinary(), [...runtimeArgs(root), 'kill', id, signal], { stdio: 'ignore' });
  return r.status === 0;
}
