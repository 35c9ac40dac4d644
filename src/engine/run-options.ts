// The run/create flags that need parsing beyond a string: tmpfs mounts,
// ulimits, devices, restart policies, healthchecks, /etc/hosts entries,
// resource limits.  Pure and unit-tested; errors name the flag as Podman does.
import type { OciMount } from '../runtime/spec';
import type { HealthConfig, RestartPolicy } from '../state/containers';
import { hostsSafe } from '../network/hosts';
import { EngineError } from './errors';
import { parseSize } from './log-config';
import { parseGoDuration as parseGoDurationNs } from '../state/nanotime';

/** --tmpfs /run:rw,size=64m,mode=1777 */
export function parseTmpfs(spec: string): OciMount {
  const colon = spec.indexOf(':');
  const dest = colon < 0 ? spec : spec.slice(0, colon);
  if (!dest.startsWith('/')) throw new EngineError(`invalid --tmpfs "${spec}": the mount point must be an absolute path`);
  const opts = colon < 0 ? [] : spec.slice(colon + 1).split(',').filter(Boolean);
  const options = ['rw', 'noexec', 'nosuid', 'nodev'].filter((d) => !opts.some((o) => o === d || o === oppositeOf(d)));
  return { destination: dest, type: 'tmpfs', source: 'tmpfs', options: [...options, ...opts] };
}

function oppositeOf(opt: string): string {
  return opt === 'rw' ? 'ro' : opt.startsWith('no') ? opt.slice(2) : `no${opt}`;
}

const RLIMITS: Record<string, string> = {
  core: 'RLIMIT_CORE', cpu: 'RLIMIT_CPU', data: 'RLIMIT_DATA', fsize: 'RLIMIT_FSIZE', locks: 'RLIMIT_LOCKS',
  memlock: 'RLIMIT_MEMLOCK', msgqueue: 'RLIMIT_MSGQUEUE', nice: 'RLIMIT_NICE', nofile: 'RLIMIT_NOFILE',
  nproc: 'RLIMIT_NPROC', rss: 'RLIMIT_RSS', rtprio: 'RLIMIT_RTPRIO', rttime: 'RLIMIT_RTTIME',
  sigpending: 'RLIMIT_SIGPENDING', stack: 'RLIMIT_STACK', as: 'RLIMIT_AS',
};

/** --ulimit nofile=1024:2048 (soft[:hard]; -1 is unlimited) */
export function parseUlimit(spec: string): { type: string; soft: number; hard: number } {
  const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(spec.trim());
  if (!m || !RLIMITS[m[1]]) throw new EngineError(`invalid --ulimit "${spec}": use NAME=SOFT[:HARD] with a name such as nofile or nproc`);
  const num = (t: string) => (t === '-1' ? 2 ** 64 - 1 : Number(t));
  const soft = num(m[2]);
  const hard = m[3] !== undefined ? num(m[3]) : soft;
  if (soft > hard) throw new EngineError(`invalid --ulimit "${spec}": the soft limit is above the hard limit`);
  return { type: RLIMITS[m[1]], soft, hard };
}

/** The sysctls a container may set: those of the namespaces it has of its own (as Podman and Docker allow). */
const IPC_SYSCTLS = new Set(['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced']);

/**
 * --sysctl NAME=VALUE (repeatable): only namespaced parameters, and net.*
 * only where the container has a network namespace of its own.
 */
export function parseSysctls(specs: string[], network: string, sharesNetwork: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const spec of specs) {
    const i = spec.indexOf('=');
    const name = i > 0 ? spec.slice(0, i).trim() : '';
    if (!name || !/^[a-z0-9_.\/-]+$/i.test(name)) throw new EngineError(`invalid --sysctl "${spec}": use NAME=VALUE`);
    const key = name.replace(/\//g, '.');
    if (key.startsWith('net.')) {
      if (network === 'host' || sharesNetwork) {
        throw new EngineError(`sysctl "${key}" cannot be set: the container shares ${network === 'host' ? "the host's" : "another container's"} network namespace`);
      }
    } else if (!IPC_SYSCTLS.has(key) && !key.startsWith('fs.mqueue.')) {
      throw new EngineError(`sysctl "${key}" is not allowed in a container: only namespaced ones can be set (net.*, fs.mqueue.*, ${[...IPC_SYSCTLS].join(', ')})`);
    }
    out[key] = spec.slice(i + 1);
  }
  return out;
}

/** --device /dev/fuse[:/dev/fuse[:rwm]] */
export function parseDevice(spec: string): { host: string; container: string; perms: string } {
  const [host, second, third] = spec.split(':');
  if (!host?.startsWith('/')) throw new EngineError(`invalid --device "${spec}": the host device must be an absolute path`);
  let container = host;
  let perms = 'rwm';
  if (third !== undefined) {
    container = second;
    perms = third;
  } else if (second !== undefined) {
    if (/^[rwm]+$/.test(second)) perms = second;
    else container = second;
  }
  if (!container.startsWith('/')) throw new EngineError(`invalid --device "${spec}": the container path must be absolute`);
  if (!/^[rwm]{1,3}$/.test(perms)) throw new EngineError(`invalid --device "${spec}": permissions must be a combination of r, w and m`);
  return { host, container, perms };
}

/** --restart no|on-failure[:N]|always|unless-stopped */
export function parseRestart(text: string | undefined): RestartPolicy | undefined {
  if (text === undefined || text === '') return undefined;
  const m = /^(no|on-failure|always|unless-stopped)(?::(\d+))?$/.exec(text);
  if (!m) throw new EngineError(`invalid restart policy "${text}": use no, on-failure[:max-retries], always or unless-stopped`);
  if (m[2] !== undefined && m[1] !== 'on-failure') throw new EngineError(`restart policy "${m[1]}" takes no retry count: only on-failure does`);
  const policy: RestartPolicy = { name: m[1] as RestartPolicy['name'] };
  if (m[2] !== undefined) policy.maxRetries = Number(m[2]);
  return policy;
}

/** A Go duration ("1m30s", "500ms", "0") in milliseconds, for a flag that takes one. */
export function parseGoDuration(text: string, flag: string): number {
  const ns = parseGoDurationNs(text.trim());
  if (ns === undefined || ns < 0n) throw new EngineError(`invalid duration "${text}" for ${flag}: use a Go duration such as 30s or 1m30s`);
  return Number(ns) / 1e6;
}

export interface HealthFlags {
  cmd?: string;
  interval?: string;
  timeout?: string;
  startPeriod?: string;
  retries?: string;
  noHealthcheck?: boolean;
}

/** The image's HEALTHCHECK, overridden by --health-* (Podman's defaults: 30s, 30s, 0s, 3). */
export function healthConfig(f: HealthFlags, image?: { Test?: string[] | null; Interval?: number | null; Timeout?: number | null; StartPeriod?: number | null; Retries?: number | null } | null): HealthConfig | undefined {
  if (f.noHealthcheck) return undefined;
  let test: string[] | undefined;
  if (f.cmd !== undefined) {
    if (f.cmd === 'none' || f.cmd === '') return undefined;
    const trimmed = f.cmd.trim();
    if (trimmed.startsWith('[')) {
      try {
        const arr = JSON.parse(trimmed) as unknown;
        if (Array.isArray(arr) && arr.every((a) => typeof a === 'string')) test = arr[0] === 'CMD' || arr[0] === 'CMD-SHELL' ? arr : ['CMD', ...arr];
      } catch {
        /* a shell command that starts with "[" */
      }
    }
    test ??= ['CMD-SHELL', f.cmd];
  } else if (image?.Test?.length && image.Test[0] !== 'NONE') {
    test = image.Test;
  }
  if (!test) return undefined;
  const ns = (v: number | null | undefined) => (v ? v / 1e6 : undefined);
  const intervalMs = f.interval !== undefined ? parseGoDuration(f.interval, '--health-interval') : (ns(image?.Interval) ?? 30_000);
  const timeoutMs = f.timeout !== undefined ? parseGoDuration(f.timeout, '--health-timeout') : (ns(image?.Timeout) ?? 30_000);
  const startPeriodMs = f.startPeriod !== undefined ? parseGoDuration(f.startPeriod, '--health-start-period') : (ns(image?.StartPeriod) ?? 0);
  let retries = image?.Retries || 3;
  if (f.retries !== undefined) {
    if (!/^\d+$/.test(f.retries)) throw new EngineError(`invalid --health-retries "${f.retries}": must be a whole number`);
    retries = Number(f.retries);
  }
  if (f.interval !== undefined && intervalMs !== 0 && intervalMs < 1000) throw new EngineError('--health-interval must be at least 1 second');
  return { test, intervalMs, timeoutMs, startPeriodMs, retries };
}

/** --add-host name:ip (several names with ";") -> hosts-file lines. */
export function parseAddHost(spec: string): string {
  const colon = spec.indexOf(':');
  if (colon <= 0) throw new EngineError(`invalid --add-host "${spec}": use HOST:IP`);
  const names = spec.slice(0, colon).split(';').filter(Boolean);
  if (names.some((n) => !hostsSafe(n))) throw new EngineError(`invalid --add-host "${spec}": a host name may not contain spaces or control characters`);
  const ip = spec.slice(colon + 1).replace(/^\[(.*)\]$/, '$1');
  if (!/^[0-9.]+$/.test(ip) && !/^[0-9a-fA-F:]+$/.test(ip) && ip !== 'host-gateway') {
    throw new EngineError(`invalid --add-host "${spec}": "${ip}" is not an IP address`);
  }
  return `${ip}\t${names.join(' ')}`;
}

/** --memory 512m, --cpus 1.5, --pids-limit 100 */
export function parseResources(r: { memory?: string; cpus?: string; pidsLimit?: string }): { memory?: number; cpus?: number; pidsLimit?: number } | undefined {
  const out: { memory?: number; cpus?: number; pidsLimit?: number } = {};
  if (r.memory !== undefined) out.memory = parseSize(r.memory);
  if (r.cpus !== undefined) {
    const n = Number(r.cpus);
    if (!Number.isFinite(n) || n <= 0) throw new EngineError(`invalid --cpus "${r.cpus}": must be a positive number`);
    out.cpus = n;
  }
  if (r.pidsLimit !== undefined) {
    if (!/^-?\d+$/.test(r.pidsLimit)) throw new EngineError(`invalid --pids-limit "${r.pidsLimit}"`);
    out.pidsLimit = Number(r.pidsLimit);
  }
  return Object.keys(out).length ? out : undefined;
}
