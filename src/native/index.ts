// Typed access to the native addon (native/addon.cc) and the helper executable.
// Loaded lazily: commands that need neither never pay for dlopen.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface NativeAddon {
  /** flock(2); returns false only when wait=false and another holder has it. */
  flock(fd: number, exclusive: boolean, wait: boolean): boolean;
  unlock(fd: number): void;
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void;
  umount(target: string, flags: number): void;
  mknodat(dirfd: number, path: string, mode: number, major: number, minor: number): void;
  lsetxattr(path: string, name: string, value: Buffer, flags?: number): void;
  lgetxattr(path: string, name: string): Buffer | null;
  /** quiet: absent names (ENOENT, ENOTDIR, ELOOP) return -errno instead of throwing */
  openat2(dirfd: number, path: string, flags: number, mode: number, resolve: number, quiet?: boolean): number;
  mkdirat(dirfd: number, name: string, mode: number): void;
  /** a listening Unix stream socket at path */
  unixListen(path: string): number;
  /** accepts one connection on a listening socket and returns the fd it passes (SCM_RIGHTS) */
  recvFd(listenFd: number, timeoutMs: number): number;
  /** a SOCK_SEQPACKET connection to path (conmon's attach socket) */
  seqpacketConnect(path: string): number;
  shutdownWrite(fd: number): void;
  /** TIOCSWINSZ */
  setWinsize(fd: number, rows: number, cols: number): void;
  /** an in-memory file with this content, inherited by exec'd programs */
  memfdWithContent(name: string, content: Buffer): number;
  /** replaces this process; throws only when it fails */
  execve(path: string, argv: string[], env: string[]): never;
  /** posix_spawn with stdio [in, out, err]; [pid, fd that reads EOF once it exited] */
  spawnProcess(path: string, argv: string[], stdio: [number, number, number], newSession: boolean): [number, number];
  /** waitpid in the thread pool: exit code, or 128 + signal */
  waitProcessAsync(pid: number): Promise<number>;
  /** waitpid for a spawnProcess child: exit code, or 128 + signal */
  waitProcess(pid: number): number;
  /** FNV-1a (64 bits) of the bytes, as 16 hex digits: a name, not a proof */
  fnv64(data: Buffer): string;
  /** SHA-256 as 64 hex digits (Node's OpenSSL, without loading node:crypto) */
  sha256Hex(data: Buffer): string;
  /** writes /proc/sys/net/... as seen in the network namespace at netns (this thread enters it and comes back) */
  netnsSysctl(netns: string, path: string, value: string): void;
  /** clock_gettime(CLOCK_REALTIME) in nanoseconds */
  realtimeNs(): bigint;
  seccompCompile(
    defaultAction: number,
    arches: string[],
    rules: [name: string, action: number, args: [index: number, op: number, value: bigint, valueTwo: bigint][], split: boolean][],
  ): Buffer;
}

/** Values from <linux/openat2.h> and <sys/mount.h>. */
export const RESOLVE_NO_XDEV = 0x01;
export const RESOLVE_NO_MAGICLINKS = 0x02;
export const RESOLVE_NO_SYMLINKS = 0x04;
export const RESOLVE_BENEATH = 0x08;
export const RESOLVE_IN_ROOT = 0x10;
export const AT_FDCWD = -100;
export const MS_RDONLY = 0x1;
export const MS_NOSUID = 0x2;
export const MS_NODEV = 0x4;
export const MS_REMOUNT = 0x20;
export const MS_BIND = 0x1000;
export const MS_REC = 0x4000;
export const MS_PRIVATE = 0x40000;
export const MNT_DETACH = 0x2;

/** The package root: dist/selkie.js when bundled, src/native/index.ts in tests. */
export function packageRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'binding.gyp'))) return dir;
    dir = join(dir, '..');
  }
  throw new Error(`cannot find selkie's package root above ${__dirname}`);
}

let addon: NativeAddon | undefined;
export function native(): NativeAddon {
  if (!addon) {
    // process.dlopen, not require(): no module resolution (~1 ms at first use).
    const mod = { exports: {} as NativeAddon };
    process.dlopen(mod, join(packageRoot(), 'build', 'Release', 'selkie_native.node'));
    addon = mod.exports;
  }
  return addon;
}

export function helperPath(): string {
  return join(packageRoot(), 'build', 'Release', 'selkie-helper');
}

export function launcherPath(): string {
  return process.env.SELKIE_LAUNCHER || join(packageRoot(), 'bin', 'selkie');
}
