// Reading and preparing a mounted container root filesystem from outside the
// container.  Every path here comes from the image or the user, so it is
// resolved inside the root with openat2(RESOLVE_IN_ROOT): a symlink in the
// image can never lead these reads or writes to the host.
import { closeSync, constants, fstatSync, readSync } from 'node:fs';
import { AT_FDCWD, RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS, native } from '../native/index';

const O_PATH = 0o10000000;
const O_DIRECTORY = 0o200000;
const IN_ROOT = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
/** /etc/passwd and /etc/group larger than this are refused rather than read. */
const MAX_DB_BYTES = 4 << 20;

export class RootFs {
  readonly fd: number;

  constructor(readonly path: string) {
    this.fd = native().openat2(AT_FDCWD, path, O_PATH | O_DIRECTORY, 0, 0);
  }

  close(): void {
    closeSync(this.fd);
  }

  private open(path: string, flags: number): number | undefined {
    const fd = native().openat2(this.fd, path, flags, 0, IN_ROOT, true);
    return fd < 0 ? undefined : fd;
  }

  /** A regular file's content, capped; undefined when absent or not a regular file. */
  readFile(path: string, maxBytes = MAX_DB_BYTES): Buffer | undefined {
    // O_NONBLOCK: opening a FIFO planted in the image must not hang us.
    const fd = this.open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    if (fd === undefined) return undefined;
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) return undefined;
      if (st.size > maxBytes) throw new Error(`${path} in the image is larger than ${maxBytes} bytes: refusing to read it`);
      const buf = Buffer.alloc(st.size);
      let off = 0;
      while (off < buf.length) {
        const n = readSync(fd, buf, off, buf.length - off, off);
        if (n === 0) break;
        off += n;
      }
      return buf.subarray(0, off);
    } finally {
      closeSync(fd);
    }
  }

  /** An O_PATH descriptor of the directory path resolves to inside the root, or undefined. */
  openDir(path: string): number | undefined {
    return this.open(path, O_PATH | O_DIRECTORY);
  }

  /** Stat of what path resolves to inside the root, or undefined. */
  stat(path: string): import('node:fs').Stats | undefined {
    const fd = this.open(path, O_PATH);
    if (fd === undefined) return undefined;
    try {
      return fstatSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** mkdir -p inside the root; returns true when something was created. */
  ensureDir(path: string, mode = 0o755): boolean {
    const parts = path.split('/').filter((p) => p && p !== '.');
    let created = false;
    let prefix = '';
    for (const part of parts) {
      if (part === '..') throw new Error(`directory "${path}" must not contain ".."`);
      const next = `${prefix}/${part}`;
      const fd = this.open(next, O_PATH | O_DIRECTORY);
      if (fd !== undefined) {
        closeSync(fd);
      } else {
        const parent = this.open(prefix || '/', O_PATH | O_DIRECTORY);
        if (parent === undefined) throw new Error(`cannot create "${path}" in the container: "${prefix}" is not a directory`);
        try {
          native().mkdirat(parent, part, mode);
          created = true;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        } finally {
          closeSync(parent);
        }
      }
      prefix = next;
    }
    return created;
  }
}

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
}

interface PasswdEntry { name: string; uid: number; gid: number; home: string }

function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 7 || !/^\d+$/.test(f[2]) || !/^\d+$/.test(f[3])) continue;
    out.push({ name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5] || '/' });
  }
  return out;
}

function parseGroups(text: string): { name: string; gid: number; members: string[] }[] {
  const out: { name: string; gid: number; members: string[] }[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 4 || !/^\d+$/.test(f[2])) continue;
    out.push({ name: f[0], gid: Number(f[2]), members: f[3] ? f[3].split(',') : [] });
  }
  return out;
}

const MAX_ID = 0xfffffffe;
function numericId(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  if (n > MAX_ID) throw new Error(`user or group ID ${text} is out of range`);
  return n;
}

/**
 * Resolves --user / the image's User ("name", "uid", "uid:gid", "name:group")
 * against the image's /etc/passwd and /etc/group, as Podman does: a numeric
 * uid absent from passwd is allowed (gid 0 unless given); a name must exist.
 */
export function resolveUser(root: RootFs, spec: string): ResolvedUser {
  const [userPart, groupPart] = spec === '' ? ['0', undefined] : spec.split(':', 2);
  const passwd = parsePasswd(root.readFile('/etc/passwd')?.toString('utf8') ?? '');
  const groupsText = root.readFile('/etc/group')?.toString('utf8');
  const groups = groupsText ? parseGroups(groupsText) : [];

  let uid = numericId(userPart);
  let entry: PasswdEntry | undefined;
  if (uid === undefined) {
    entry = passwd.find((p) => p.name === userPart);
    if (!entry) throw new Error(`unable to find user ${userPart}: no matching entries in passwd file`);
    uid = entry.uid;
  } else {
    entry = passwd.find((p) => p.uid === uid);
  }

  let gid: number;
  if (groupPart !== undefined && groupPart !== '') {
    const g = numericId(groupPart) ?? groups.find((x) => x.name === groupPart)?.gid;
    if (g === undefined) throw new Error(`unable to find group ${groupPart}: no matching entries in group file`);
    gid = g;
  } else {
    gid = entry?.gid ?? 0;
  }

  const additionalGids =
    groupPart === undefined && entry
      ? groups.filter((g) => g.members.includes(entry!.name) && g.gid !== gid).map((g) => g.gid)
      : [];
  return { uid, gid, additionalGids, home: entry?.home ?? '/' };
}

export type ExecCheck = { ok: true; path: string } | { ok: false; code: 126 | 127; reason: string };

/**
 * Finds what the runtime will execute, so a missing or non-executable command
 * gets Podman's exit codes (127 / 126) and a clear message before the runtime
 * is started.
 */
export function checkExecutable(root: RootFs, cmd: string, env: string[]): ExecCheck {
  const candidates: string[] = [];
  if (cmd.includes('/')) {
    candidates.push(cmd.startsWith('/') ? cmd : `/${cmd}`);
  } else {
    const pathVar = env.find((e) => e.startsWith('PATH='))?.slice(5) ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
    for (const dir of pathVar.split(':')) if (dir) candidates.push(`${dir.replace(/\/$/, '')}/${cmd}`);
  }
  let denied: string | undefined;
  for (const c of candidates) {
    const st = root.stat(c);
    if (!st) continue;
    if (st.isFile() && (st.mode & 0o111) !== 0) return { ok: true, path: c };
    denied ??= st.isDirectory() ? `${c} is a directory` : `${c} is not executable`;
    if (cmd.includes('/')) break;
  }
  if (denied) return { ok: false, code: 126, reason: `${cmd}: permission denied (${denied})` };
  return {
    ok: false,
    code: 127,
    reason: cmd.includes('/') ? `${cmd}: no such file or directory` : `executable file \`${cmd}\` not found in $PATH`,
  };
}
