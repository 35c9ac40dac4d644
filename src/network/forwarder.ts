// The user-space port forwarder of published ports (Podman's rootlessport)
// for user-defined networks and slirp4netns: `selkie-helper forward` binds
// the host ports here, in the caller's network namespace, and makes the
// connections to the containers' addresses from another netns (the
// rootless netns that holds the bridges, or the container's own).  It runs detached, recorded in RUNDIR/forwarder.pid, until
// stopForwarder.  It must be started by a process that may setns() into
// that netns (root of the user namespace owning it: S, for selkie).
import { spawn } from 'node:child_process';
import { isIP } from 'node:net';
import { writeFileSync } from 'node:fs';
import { helperPath } from '../native/index';
import { helperPidFile, stopHelper } from './helper-pid';
import type { PortMapping } from './ports';

export interface ForwardRule {
  protocol: 'tcp' | 'udp';
  /** '' or '0.0.0.0': every IPv4 address of the host */
  hostIp: string;
  hostPort: number;
  targetIp: string;
  targetPort: number;
}

/** Rules for a container's published ports, all to one address of it. */
export function forwardRules(ports: PortMapping[], targetIp: string): ForwardRule[] {
  return ports.map((p) => ({ protocol: p.protocol, hostIp: p.hostIp, hostPort: p.hostPort, targetIp, targetPort: p.containerPort }));
}

const READY_FD = 3;
const READY_TIMEOUT_MS = 10_000;
const NAME = 'forwarder';

function address(ip: string, what: string): string {
  const bare = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  const family = isIP(bare);
  if (family === 4) return bare;
  if (family === 6) return `[${bare}]`;
  throw new Error(`port forwarding: invalid ${what} address "${ip}"`);
}

function port(n: number, what: string): string {
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`port forwarding: invalid ${what} port ${n}`);
  return String(n);
}

/** The helper's argv: forward NETNS_PATH READY_FD TAG RULE... (RULE: tcp|udp:HOSTIP:HOSTPORT:TARGETIP:TARGETPORT). */
export function forwardArgs(netnsPath: string, tag: string, rules: ForwardRule[]): string[] {
  if (!rules.length) throw new Error('port forwarding: no rules');
  return [
    'forward',
    netnsPath,
    String(READY_FD),
    tag,
    ...rules.map((r) => {
      if (r.protocol !== 'tcp' && r.protocol !== 'udp') throw new Error(`port forwarding: invalid protocol "${String(r.protocol)}"`);
      const host = address(r.hostIp || '0.0.0.0', 'host');
      return `${r.protocol}:${host}:${port(r.hostPort, 'host')}:${address(r.targetIp, 'target')}:${port(r.targetPort, 'target')}`;
    }),
  ];
}

/**
 * Starts the forwarder for RULES and resolves once every host port is bound
 * and it has joined netnsPath; rejects with the helper's own message
 * ("selkie-helper forward: cannot bind 127.0.0.1:8080/tcp: Address already
 * in use") when it cannot.  The run directory is its tag, so stopForwarder
 * can tell it from a recycled PID.
 */
export async function startForwarder(runDir: string, netnsPath: string, rules: ForwardRule[]): Promise<void> {
  const args = forwardArgs(netnsPath, runDir, rules);
  const child = spawn(helperPath(), args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe'], detached: true });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => (stderr += d));
  const readyPipe = child.stdio[READY_FD] as NodeJS.ReadableStream & { destroy(): void };
  const outcome = await new Promise<'ready' | 'exit' | 'timeout' | Error>((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), READY_TIMEOUT_MS);
    const done = (v: 'ready' | 'exit' | Error) => {
      clearTimeout(timer);
      resolve(v);
    };
    readyPipe.once('data', () => done('ready'));
    // 'close' rather than 'exit': by then all of stderr has been read.
    child.once('close', () => done('exit'));
    child.once('error', (err) => done(err));
  });
  child.stderr!.destroy();
  readyPipe.destroy();
  if (outcome === 'ready' && child.pid) {
    writeFileSync(helperPidFile(runDir, NAME), String(child.pid));
    child.unref();
    return;
  }
  if (outcome === 'timeout') child.kill('SIGKILL');
  child.unref();
  if (outcome instanceof Error) throw new Error(`cannot start the port forwarder: ${outcome.message}`);
  const line = stderr.trim().split('\n').pop();
  throw new Error(line || (outcome === 'timeout' ? 'the port forwarder did not become ready' : 'the port forwarder exited before it was ready'));
}

/** Stops the forwarder of runDir, if it still runs and is ours.  Idempotent. */
export function stopForwarder(runDir: string): void {
  stopHelper(runDir, NAME);
}
