// exec: another process in a running container, through `crun exec`
// directly (no monitor: the process is ours while it runs, its exit code is
// crun's).  It joins the container's namespaces, including its user
// namespace, so it runs with the container's ID mapping.  A terminal comes
// from crun's console socket: the pty master is passed to us (SCM_RIGHTS).
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, read, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { native } from '../native/index';
import { runtimeArgs, runtimeBinary, runtimeErrors } from '../runtime/crun';
import { resolveUser, RootFs } from '../runtime/rootfs';
import { resolveCapabilities } from '../runtime/security';
import { randomHex } from '../state/random';
import { toSessionId } from '../userns/mapping';
import { mappingOf } from './container-mount';
import type { ContainerRecord } from '../state/containers';
import type { EngineContext } from './context';
import { mergeEnv } from './env';
import { EngineError } from './errors';
import { effectiveStatus } from './liveness';
import { requireContainer } from './remove';
import { socketDir } from './monitor-paths';
import { commandProblem } from './command-check';
import { trace } from '../trace';
import { warmCodeCache } from '../code-cache';
import { recordContainerEvent } from '../state/events';

export interface ExecOptions {
  args: string[];
  interactive: boolean;
  tty: boolean;
  detach: boolean;
  user?: string;
  env: string[];
  envFiles: { text: string; file: string }[];
  workdir?: string;
  privileged: boolean;
}

interface OciProcess {
  terminal?: boolean;
  user: { uid: number; gid: number; additionalGids?: number[] };
  args: string[];
  env: string[];
  cwd: string;
  capabilities?: Record<string, string[]>;
  noNewPrivileges?: boolean;
  [k: string]: unknown;
}

/** The exec'd process: the container's own process settings, changed by the options. */
function execProcess(ctx: EngineContext, rec: ContainerRecord, base: OciProcess, o: ExecOptions): OciProcess {
  const id = rec.id;
  const p: OciProcess = { ...base, args: o.args, terminal: o.tty };
  if (o.user !== undefined) {
    const root = new RootFs(join(ctx.runDir(id), 'rootfs'));
    try {
      const u = resolveUser(root, o.user);
      const m = mappingOf(rec);
      for (const [kind, value] of [['user', u.uid], ['group', u.gid]] as const) {
        if (toSessionId(kind === 'user' ? m.uid : m.gid, value) === undefined) {
          throw new EngineError(`${kind} ID ${value} is not mapped in the container's user namespace`);
        }
      }
      p.user = { uid: u.uid, gid: u.gid, ...(u.additionalGids.length ? { additionalGids: u.additionalGids } : {}) };
    } finally {
      root.close();
    }
  }
  p.env = mergeEnv(base.env, o.envFiles, o.env);
  if (o.workdir !== undefined) p.cwd = o.workdir;
  const caps = o.privileged ? resolveCapabilities({ privileged: true }) : (base.capabilities?.bounding ?? []);
  const isRoot = p.user.uid === 0;
  p.capabilities = { bounding: caps, effective: isRoot ? caps : [], permitted: isRoot ? caps : [] };
  return p;
}

/** Relays between our terminal and the pty master until the process ends. */
function relayTerminal(master: number): { stop: () => void; drained: Promise<void> } {
  const stdinTty = !!process.stdin.isTTY;
  const resize = () => {
    const { rows, columns } = process.stdout;
    if (rows && columns) {
      try {
        native().setWinsize(master, rows, columns);
      } catch {
        /* closed */
      }
    }
  };
  resize();
  process.on('SIGWINCH', resize);
  const onData = (d: Buffer) => {
    try {
      writeSync(master, d);
    } catch {
      /* the process is gone */
    }
  };
  if (stdinTty) process.stdin.setRawMode(true);
  process.stdin.on('data', onData);
  process.stdin.resume();
  const buf = Buffer.alloc(64 * 1024);
  const drained = new Promise<void>((resolve) => {
    const pump = () =>
      read(master, buf, 0, buf.length, null, (err, n) => {
        // EIO: every slave side is closed (the process and its children ended).
        if (err || n === 0) return resolve();
        process.stdout.write(Buffer.from(buf.subarray(0, n)));
        pump();
      });
    pump();
  });
  return {
    drained,
    stop() {
      process.off('SIGWINCH', resize);
      process.stdin.off('data', onData);
      process.stdin.pause();
      if (stdinTty) process.stdin.setRawMode(false);
    },
  };
}

/**
 * The common case (no terminal, not detached): this process becomes `crun
 * exec`.  No fork, nothing to relay: stdio, signals and the exit status are
 * crun's, which are the process's.  What crun would only report as a failed
 * exec (command missing or not executable) is checked first, for Podman's
 * 127/126 and message.  Returns only if execve failed.
 */
function handOver(ctx: EngineContext, rec: ContainerRecord, proc: OciProcess): void {
  const problem = commandProblem(join(ctx.runDir(rec.id), 'rootfs'), proc.args[0], proc.env);
  if (problem) throw problem;
  trace('exec: executable checked');
  recordContainerEvent(ctx, 'exec', rec);
  trace('exec: event recorded');
  const fd = native().memfdWithContent('process.json', Buffer.from(JSON.stringify(proc)));
  const bin = runtimeBinary();
  const args = [bin, ...runtimeArgs(ctx.runtimeRoot), 'exec', `--process=/proc/self/fd/${fd}`, rec.id];
  const env = Object.entries(process.env).map(([k, v]) => `${k}=${v ?? ''}`);
  trace('exec: handing over to crun');
  // No return to main(), whose success warms the code cache (scripts/boot.cjs).
  warmCodeCache();
  native().execve(bin, args, env);
}

export async function execInContainer(ctx: EngineContext, ref: string, o: ExecOptions): Promise<number> {
  let rec;
  try {
    rec = requireContainer(ctx, ref);
  } catch (err) {
    // Podman: 125 for exec (rm alone answers 1 for a missing container).
    throw new EngineError((err as Error).message, 125);
  }
  if (effectiveStatus(rec) !== 'running') {
    throw new EngineError('can only create exec sessions on running containers: container state improper');
  }
  trace('exec: container found');
  const runDir = ctx.runDir(rec.id);
  const spec = JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8')) as { process: OciProcess };
  const proc = execProcess(ctx, rec, spec.process, o);
  trace('exec: process built');
  if (!o.tty && !o.detach) handOver(ctx, rec, proc);
  const sessionId = randomHex(16);
  const procFile = join(runDir, `exec-${sessionId}.json`);
  const log = join(runDir, `exec-${sessionId}.log`);
  writeFileSync(procFile, JSON.stringify(proc));
  const args = [...runtimeArgs(ctx.runtimeRoot, log), 'exec', `--process=${procFile}`];
  if (o.detach) args.push('--detach');
  let listen: number | undefined;
  // Short: crun connects to it by name, and a socket address holds 107 bytes.
  const sock = join(socketDir(ctx), `exec-${sessionId}`);
  if (o.tty) {
    mkdirSync(dirname(sock), { recursive: true, mode: 0o700 });
    listen = native().unixListen(sock);
    args.push(`--console-socket=${sock}`);
  }
  args.push(rec.id);
  const cleanup = () => {
    for (const f of [procFile, log, sock]) rmSync(f, { force: true });
    if (listen !== undefined) closeSync(listen);
  };
  try {
    const child = spawn(runtimeBinary(), args, {
      // Detached, the process keeps what crun gives it: nothing of ours, or
      // whoever reads our output would wait for it to end.
      stdio: o.detach ? 'ignore' : [o.interactive && !o.tty ? 'inherit' : 'ignore', o.tty ? 'ignore' : 'inherit', 'inherit'],
    });
    const exited = new Promise<number>((resolve) => {
      child.on('error', () => resolve(125));
      child.on('exit', (code, sig) => resolve(code ?? 128 + (sig ? 9 : 0)));
    });
    let relay: ReturnType<typeof relayTerminal> | undefined;
    if (o.tty && listen !== undefined) {
      let master: number | undefined;
      // crun connects once it has the terminal; poll so a failed crun cannot hang us.
      for (let waited = 0; master === undefined && waited < 10_000; waited += 100) {
        try {
          master = native().recvFd(listen, 100);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ETIMEDOUT') throw err;
          if (child.exitCode !== null) break;
          await new Promise((r) => setImmediate(r));
        }
      }
      if (master !== undefined) relay = relayTerminal(master);
    }
    trace('exec: runtime spawned');
    recordContainerEvent(ctx, 'exec', rec);
    const code = await exited;
    trace('exec: runtime exited');
    if (relay) {
      await Promise.race([relay.drained, new Promise((r) => setTimeout(r, 200))]);
      relay.stop();
    }
    if (code !== 0) {
      const errors = runtimeErrors(log);
      if (errors.length) {
        const problem = commandProblem(join(runDir, 'rootfs'), o.args[0], proc.env);
        if (problem) throw problem;
        throw new EngineError(`crun: ${errors.join('; ')}: OCI runtime error`, 126);
      }
    }
    if (o.detach) process.stdout.write(`${sessionId}\n`);
    return code;
  } finally {
    cleanup();
  }
}

/** Runs a process in the container with its output captured (healthchecks); -1 when it timed out. */
export function execCaptured(ctx: EngineContext, rec: ContainerRecord, args: string[], timeoutMs: number): { code: number; output: string } {
  const id = rec.id;
  const runDir = ctx.runDir(id);
  const spec = JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8')) as { process: OciProcess };
  const proc = execProcess(ctx, rec, spec.process, { args, interactive: false, tty: false, detach: false, env: [], envFiles: [], privileged: false });
  const procFile = join(runDir, `exec-${randomHex(16)}.json`);
  writeFileSync(procFile, JSON.stringify(proc));
  try {
    const r = spawnSync(runtimeBinary(), [...runtimeArgs(ctx.runtimeRoot), 'exec', `--process=${procFile}`, id], {
      encoding: 'utf8',
      timeout: timeoutMs > 0 ? timeoutMs : undefined,
      killSignal: 'SIGKILL',
      maxBuffer: 1 << 20,
    });
    const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    if (r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') return { code: -1, output };
    return { code: r.status ?? 125, output };
  } finally {
    rmSync(procFile, { force: true });
  }
}
