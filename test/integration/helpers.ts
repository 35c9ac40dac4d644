// Running the real selkie command as the (unprivileged) user running the tests.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeDockerArchive, writeRootfsTar, type TarEntry } from '../../scripts/fixtures.mjs';

export const ROOT = resolve(__dirname, '..', '..');

// Each test file gets a store of its own (vitest evaluates this module once
// per file), below the run's XDG_DATA_HOME, so that no file sees what
// another left behind.  The session namespace is shared, as for any user.
process.env.XDG_DATA_HOME = mkdtempSync(join(process.env.XDG_DATA_HOME ?? tmpdir(), 'store-'));
export const SELKIE = join(ROOT, 'bin', 'selkie');

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export function selkie(args: string[], opts: { input?: string; env?: Record<string, string>; timeout?: number } = {}): Result {
  const r: SpawnSyncReturns<string> = spawnSync(SELKIE, args, {
    encoding: 'utf8',
    input: opts.input,
    env: { ...process.env, ...opts.env },
    timeout: opts.timeout ?? 60_000,
  });
  if (r.error) throw r.error;
  return { code: r.status ?? 128 + (r.signal ? 9 : 0), stdout: r.stdout, stderr: r.stderr };
}

/** Runs selkie and fails the test with its stderr unless it exits 0. */
export function ok(args: string[], opts: Parameters<typeof selkie>[1] = {}): string {
  const r = selkie(args, opts);
  if (r.code !== 0) throw new Error(`selkie ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

export function selkieAsync(args: string[], env: Record<string, string> = {}, input?: string): Promise<Result> {
  return new Promise((resolveP, reject) => {
    const child = spawn(SELKIE, args, { env: { ...process.env, ...env } });
    child.stdin.end(input ?? '');
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, sig) => resolveP({ code: code ?? 128 + (sig ? 9 : 0), stdout, stderr }));
  });
}

export function tempDir(prefix = 'selkie-it-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** The busybox image every test uses, imported once per test file under `name`. */
export async function ensureBusybox(name = 'localhost/itest-busybox:latest', extra: TarEntry[] = []): Promise<string> {
  if (selkie(['image', 'exists', name]).code === 0 && extra.length === 0) return name;
  const dir = tempDir();
  try {
    const tar = join(dir, 'rootfs.tar');
    await writeRootfsTar(tar, extra);
    ok(['import', tar, name]);
    return name;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function loadDockerArchive(repoTag: string, layers?: TarEntry[][]): Promise<Result> {
  const dir = tempDir();
  try {
    const tar = join(dir, 'image.tar');
    await writeDockerArchive(tar, { repoTag, layers });
    return selkie(['load', '-i', tar]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function hostUid(): number {
  return process.getuid!();
}

/** This user's subordinate ID ranges. */
export function subRanges(file = '/etc/subuid'): { start: number; count: number }[] {
  const name = spawnSync('id', ['-un'], { encoding: 'utf8' }).stdout.trim();
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length === 3 && (f[0] === name || f[0] === String(hostUid())))
    .map((f) => ({ start: Number(f[1]), count: Number(f[2]) }));
}

/** Maps a session-namespace ID (1..N) to the host ID it stands for. */
export function sessionToHost(id: number): number {
  if (id === 0) return hostUid();
  let next = 1;
  for (const r of subRanges()) {
    if (id < next + r.count) return r.start + (id - next);
    next += r.count;
  }
  throw new Error(`session ID ${id} is beyond this user's ranges`);
}

export function mountsUnder(path: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m) => m && m.startsWith(path));
}

export function graphRoot(): string {
  const data = process.env.XDG_DATA_HOME || join(process.env.HOME!, '.local', 'share');
  return join(data, 'selkie', 'storage');
}

export function runRoot(): string {
  return join(process.env.XDG_RUNTIME_DIR!, 'selkie');
}

export function pausePid(): number | undefined {
  const f = join(runRoot(), 'pause.pid');
  return existsSync(f) ? Number(readFileSync(f, 'utf8').split(' ')[0]) : undefined;
}

/** Reads a file as the session namespace sees it (storage mounts live there). */
export function sessionMounts(): string[] {
  const pid = pausePid();
  if (!pid) return [];
  try {
    return readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4])
      .filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * Container root mounts that were not there at `before` (a snapshot of
 * sessionMounts()): the session is shared by everything the user runs, so
 * tests look only at what appeared since they began.
 */
export function newContainerMounts(before: Set<string>): string[] {
  return sessionMounts().filter((m) => m.startsWith(join(runRoot(), 'containers')) && !before.has(m));
}

/** Polls pred every 50 ms until it holds, or fails after ms. */
export function waitFor(pred: () => boolean, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  return new Promise((res, rej) => {
    const tick = () => {
      if (pred()) return res();
      if (Date.now() > until) return rej(new Error('timed out waiting'));
      setTimeout(tick, 50);
    };
    tick();
  });
}
