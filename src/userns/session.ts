// The session namespace S: one user + mount namespace per user, held open by
// a pause process.  native/launcher.c joins it before Node starts; this module
// creates it when it is missing and then runs the command again through the
// launcher, which is how every later command finds itself inside S.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrivateDir, hostIds, sessionDir } from '../config/paths';
import { helperPath, launcherPath } from '../native/index';
import { writeFileAtomic } from '../state/atomic';
import { withLock } from '../state/lock';
import { processStartTime } from '../state/process';
import { mapToArgs, readSubIds, sessionMap, userName, type IdRange, type MapEntry } from './subid';

export interface SessionLayout {
  user: string | undefined;
  host: { uid: number; gid: number };
  uidRanges: IdRange[];
  gidRanges: IdRange[];
  uidMap: MapEntry[];
  gidMap: MapEntry[];
  /** IDs in S (the smaller of the uid and gid sides) */
  size: number;
}

export function sessionLayout(): SessionLayout {
  const host = hostIds();
  const user = userName(host.uid);
  const uidRanges = readSubIds(process.env.SELKIE_SUBUID_FILE || '/etc/subuid', user, host.uid);
  const gidRanges = readSubIds(process.env.SELKIE_SUBGID_FILE || '/etc/subgid', user, host.uid);
  const u = sessionMap(host.uid, uidRanges);
  const g = sessionMap(host.gid, gidRanges);
  return { user, host, uidRanges, gidRanges, uidMap: u.entries, gidMap: g.entries, size: Math.min(u.size, g.size) };
}

export function inSession(): boolean {
  return !!process.env.SELKIE_SESSION;
}

function pauseFile(): string {
  return join(sessionDir(), 'pause.pid');
}

/** The pause process's PID when it is alive (and not a recycled PID), else undefined. */
export function livePausePid(): number | undefined {
  let text: string;
  try {
    text = readFileSync(pauseFile(), 'utf8');
  } catch {
    return undefined;
  }
  const [pidText, start] = text.trim().split(' ');
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return processStartTime(pid) === start ? pid : undefined;
}

/** Where S's namespaces are named (`user:[N]`, `mnt:[N]`), to find S again without its pause process. */
function namespacesFile(): string {
  return join(sessionDir(), 'session-ns.json');
}

function recordNamespaces(pid: number): void {
  try {
    const ns = { user: readlinkSync(`/proc/${pid}/ns/user`), mnt: readlinkSync(`/proc/${pid}/ns/mnt`) };
    writeFileAtomic(namespacesFile(), JSON.stringify(ns), 0o600, false);
  } catch {
    /* not recorded: only the conmon search below will find this S again */
  }
}

/**
 * A process of ours that still holds an S whose pause process died.  Its
 * containers' processes, mounts and fuse-overlayfs live in that S; a new S
 * beside it would see none of them (exec, stop, cp would fail), so the new
 * pause process joins it, as Podman joins a conmon's namespaces when its
 * pause process is gone.  First the conmon of a running container; then any
 * process in both of S's recorded namespaces (a foreground `run`, its crun,
 * a fuse-overlayfs), found in /proc.  pasta and slirp4netns sandbox
 * themselves in mount namespaces of their own, and are not joined.
 */
function survivingSessionHolder(): number | undefined {
  return conmonHolder() ?? namespaceHolder();
}

function namespaceHolder(): number | undefined {
  let ns: { user?: unknown; mnt?: unknown };
  try {
    ns = JSON.parse(readFileSync(namespacesFile(), 'utf8')) as typeof ns;
  } catch {
    return undefined;
  }
  if (typeof ns.user !== 'string' || typeof ns.mnt !== 'string') return undefined;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/user`) === ns.user && readlinkSync(`/proc/${entry}/ns/mnt`) === ns.mnt) return Number(entry);
    } catch {
      /* gone, or another user's */
    }
  }
  return undefined;
}

function conmonHolder(containersDir = join(sessionDir(), 'containers')): number | undefined {
  let ids: string[];
  try {
    ids = readdirSync(containersDir);
  } catch {
    return undefined;
  }
  let ours: string;
  try {
    ours = readlinkSync('/proc/self/ns/user');
  } catch {
    return undefined;
  }
  for (const id of ids) {
    let pid: number;
    try {
      pid = Number(readFileSync(join(containersDir, id, 'conmon.pid'), 'utf8').trim());
      if (!Number.isInteger(pid) || pid <= 0 || processStartTime(pid) === undefined) continue;
      // a recycled PID is not conmon; one in our own user namespace holds no S
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'conmon') continue;
      if (readlinkSync(`/proc/${pid}/ns/user`) === ours) continue;
    } catch {
      continue; // gone, or not ours to look at
    }
    return pid;
  }
  return undefined;
}

/** Creates S unless a live one exists.  Serialized by a lock: concurrent first runs make one. */
export function createSession(warn: (msg: string) => void): number {
  const dir = sessionDir();
  ensurePrivateDir(dir);
  return withLock(join(dir, 'pause.lock'), () => {
    const live = livePausePid();
    if (live) return live;
    const holder = survivingSessionHolder();
    if (holder) {
      try {
        const pid = startPause(['pause', '--pidfile', pauseFile(), '--join', String(holder)]);
        recordNamespaces(pid);
        return pid;
      } catch {
        /* it ended meanwhile: a new S, as if there had been none */
      }
    }
    const layout = sessionLayout();
    if (layout.host.uid === 0) {
      throw new Error('selkie is rootless: run it as an ordinary user (rootful mode is not supported yet)');
    }
    const args = ['pause', '--pidfile', pauseFile()];
    if (layout.uidRanges.length === 0 || layout.gidRanges.length === 0) {
      warn(
        `no subordinate ${layout.uidRanges.length === 0 ? 'UIDs' : 'GIDs'} for user "${layout.user ?? layout.host.uid}" in ` +
          `${layout.uidRanges.length === 0 ? '/etc/subuid' : '/etc/subgid'}: running with a single-ID mapping ` +
          '(only root in the container is mapped, to you). Add a range with usermod --add-subuids/--add-subgids.',
      );
      args.push('--self-map');
    } else {
      for (const tool of ['/usr/bin/newuidmap', '/usr/bin/newgidmap']) {
        if (!existsSync(tool)) throw new Error(`${tool} is missing: install the uidmap package`);
      }
      args.push('--uid-map', mapToArgs(layout.uidMap), '--gid-map', mapToArgs(layout.gidMap));
      args.push('--newuidmap', '/usr/bin/newuidmap', '--newgidmap', '/usr/bin/newgidmap');
    }
    const pid = startPause(args);
    recordNamespaces(pid);
    return pid;
  });
}

function startPause(args: string[]): number {
  const r = spawnSync(helperPath(), args, { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(`cannot create the session user namespace: ${(r.stderr || r.error?.message || '').trim()}`);
  }
  return Number(r.stdout.trim());
}

/**
 * Runs this same command again through the launcher, which now finds S and
 * joins it; resolves with the exit code to leave with.
 */
export function reexecInSession(): Promise<number> {
  // Once only: a launcher that did not join the session it was just given
  // must not send us round again (each round a new process).
  if (process.env.SELKIE_REEXECED) {
    process.stderr.write('Error: the session namespace was created but the launcher did not enter it\n');
    return Promise.resolve(125);
  }
  return new Promise((resolve) => {
    const child = spawn(launcherPath(), process.argv.slice(2), { stdio: 'inherit', env: { ...process.env, SELKIE_REEXECED: '1' } });
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
    for (const s of signals) process.on(s, forward);
    child.on('error', (err) => {
      process.stderr.write(`Error: cannot run ${launcherPath()}: ${err.message}\n`);
      resolve(125);
    });
    child.on('exit', (code, signal) => resolve(code ?? 128 + (signal ? (require('node:os').constants.signals[signal] ?? 0) : 0)));
  });
}
