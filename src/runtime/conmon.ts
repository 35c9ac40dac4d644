// The container monitor: conmon (from the distribution) holds each detached
// container.  It runs `crun create`, becomes the container's subreaper, keeps
// its stdio (pipes or the terminal), writes its log in Podman's k8s-file
// format, serves attach connections, records the exit code in a file and runs
// our exit command (`selkie container cleanup`) when the container ends, so
// that no selkie process has to be there at that moment.
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';

export const CONMON = process.env.SELKIE_CONMON || '/usr/bin/conmon';

export interface ConmonOptions {
  id: string;
  name: string;
  bundle: string;
  /** the container's init PID, written by crun */
  pidFile: string;
  /** conmon's own PID */
  conmonPidFile: string;
  /** conmon writes <exitDir>/<id> with the exit code */
  exitDir: string;
  /** conmon makes <socketDir>/<id> a link to the bundle, to keep the attach socket's path short */
  socketDir: string;
  /** k8s-file log path, or undefined for --log-driver none */
  logPath?: string;
  logSizeMax?: number;
  terminal: boolean;
  stdin: boolean;
  /** the runtime binary conmon runs */
  runtime: string;
  /** crun's global options (root, log, cgroup manager) */
  runtimeArgs: string[];
  /** what conmon runs after the container exits: argv */
  exitCommand: string[];
}

/** conmon's command line (pure, for tests). */
export function conmonArgs(o: ConmonOptions): string[] {
  const args = [
    '--api-version', '1',
    '-c', o.id,
    '-u', o.id,
    '-n', o.name,
    '-r', o.runtime,
    '-b', o.bundle,
    '-p', o.pidFile,
    '-P', o.conmonPidFile,
    '--exit-dir', o.exitDir,
    '--socket-dir-path', o.socketDir,
    '--log-level', 'error',
    '--no-sync-log',
  ];
  if (o.logPath) {
    args.push('-l', `k8s-file:${o.logPath}`);
    if (o.logSizeMax && o.logSizeMax > 0) args.push('--log-size-max', String(o.logSizeMax));
  } else {
    args.push('-l', 'none:');
  }
  if (o.terminal) args.push('-t');
  // A client that detaches (or goes away) must not close the container's
  // stdin: the next `attach` types into it again (Podman's default too).
  if (o.stdin) args.push('-i', '--leave-stdin-open');
  for (const a of o.runtimeArgs) args.push('--runtime-arg', a);
  const [cmd, ...rest] = o.exitCommand;
  if (cmd) {
    args.push('--exit-command', cmd);
    for (const a of rest) args.push('--exit-command-arg', a);
  }
  return args;
}

export class MonitorError extends Error {}

/**
 * Starts conmon, which creates the container (not yet started: `crun start`
 * does that) and reports the container's PID on the sync pipe (fd 3).
 * conmon forks itself into the background; the pipe tells us when it is done.
 */
export async function spawnConmon(o: ConmonOptions): Promise<number> {
  const child = spawn(CONMON, conmonArgs(o), {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    env: { ...process.env, _OCI_SYNCPIPE: '3' },
    detached: true,
  });
  const sync = child.stdio[3] as Readable;
  const stderr = child.stderr!;
  let errText = '';
  stderr.on('data', (d) => (errText += d));
  const release = () => {
    sync.destroy();
    stderr.destroy();
    child.unref();
  };
  return new Promise<number>((resolve, reject) => {
    let buf = '';
    let settled = false;
    const done = (err: Error | undefined, pid?: number) => {
      if (settled) return;
      settled = true;
      release();
      if (err) reject(err);
      else resolve(pid!);
    };
    child.on('error', (err) => done(new MonitorError(`cannot run ${CONMON}: ${err.message} (install the conmon package)`)));
    sync.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let msg: { data?: number; message?: string };
        try {
          msg = JSON.parse(line);
        } catch {
          continue;
        }
        if (typeof msg.data !== 'number') continue;
        if (msg.data < 0) done(new MonitorError(msg.message?.trim() || 'conmon could not create the container'));
        else done(undefined, msg.data);
      }
    });
    sync.on('end', () => done(new MonitorError(errText.trim() || 'conmon exited before the container was created')));
  });
}
