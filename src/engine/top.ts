// top: the container's processes, found without cgroups as every process in
// the container's PID namespace, shown as the container sees them (its PIDs,
// its user names).  Descriptors other than the default set run ps(1) inside
// the container, as Podman falls back to.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { RootFs } from '../runtime/rootfs';
import { mappingOf } from './container-mount';
import type { EngineContext } from './context';
import { EngineError } from './errors';
import { execCaptured } from './exec';
import { containerPid, effectiveStatus } from './liveness';
import { requireContainer } from './remove';
import { fromSessionId } from '../userns/mapping';

export const DEFAULT_DESCRIPTORS = ['user', 'pid', 'ppid', '%cpu', 'elapsed', 'tty', 'time', 'args'];
const HEADERS: Record<string, string> = { user: 'USER', pid: 'PID', ppid: 'PPID', '%cpu': '%CPU', elapsed: 'ELAPSED', tty: 'TTY', time: 'TIME', args: 'COMMAND', comm: 'COMMAND', uid: 'UID' };

function duration(sec: number): string {
  const s = Math.max(0, Math.floor(sec));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h${m}m${s % 60}s` : m ? `${m}m${s % 60}s` : `${s}s`;
}

function namesOf(rootfs: string): Map<number, string> {
  const root = new RootFs(rootfs);
  try {
    const out = new Map<number, string>();
    for (const line of (root.readFile('/etc/passwd')?.toString() ?? '').split('\n')) {
      const f = line.split(':');
      if (f.length >= 3 && /^\d+$/.test(f[2]) && !out.has(Number(f[2]))) out.set(Number(f[2]), f[0]);
    }
    return out;
  } finally {
    root.close();
  }
}

export function topContainer(ctx: EngineContext, ref: string, descriptors: string[]): string[][] {
  const rec = requireContainer(ctx, ref);
  if (effectiveStatus(rec) !== 'running') throw new EngineError(`top can only be used on running containers`);
  const wanted = descriptors.length ? descriptors : DEFAULT_DESCRIPTORS;
  if (!wanted.every((d) => d in HEADERS)) {
    const r = execCaptured(ctx, rec, ['ps', ...descriptors], 10_000);
    if (r.code !== 0) throw new EngineError(`ps(1) failed in container ${rec.id}: ${r.output.trim()}`);
    return r.output.trimEnd().split('\n').map((l) => l.trim().split(/\s+/));
  }
  const init = containerPid(rec, ctx.runDir(rec.id));
  const ns = readlinkSync(`/proc/${init}/ns/pid`);
  const mapping = mappingOf(rec);
  const names = namesOf(join(ctx.runDir(rec.id), 'rootfs'));
  const hz = 100;
  const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  const rows: string[][] = [wanted.map((d) => HEADERS[d])];
  const hostToCtr = new Map<number, number>();
  const procs: { pid: number; status: string; stat: string[]; cmd: string }[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readlinkSync(`/proc/${e}/ns/pid`) !== ns) continue;
      const status = readFileSync(`/proc/${e}/status`, 'utf8');
      const statText = readFileSync(`/proc/${e}/stat`, 'utf8');
      const stat = statText.slice(statText.lastIndexOf(')') + 2).split(' ');
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      const nspid = /NSpid:\s*(.*)/.exec(status)?.[1].trim().split(/\s+/).pop();
      hostToCtr.set(Number(e), Number(nspid));
      procs.push({ pid: Number(e), status, stat, cmd: cmd || `[${statText.slice(statText.indexOf('(') + 1, statText.lastIndexOf(')'))}]` });
    } catch {
      /* gone meanwhile */
    }
  }
  for (const p of procs.sort((a, b) => (hostToCtr.get(a.pid) ?? 0) - (hostToCtr.get(b.pid) ?? 0))) {
    // An ID the container does not map shows as nobody, as the kernel shows it.
    const uid = fromSessionId(mapping.uid, Number(/Uid:\s*(\d+)/.exec(p.status)?.[1] ?? 0)) ?? 65534;
    const cpuSec = (Number(p.stat[11]) + Number(p.stat[12])) / hz;
    const elapsed = uptime - Number(p.stat[19]) / hz;
    const values: Record<string, string> = {
      user: names.get(uid) ?? String(uid),
      uid: String(uid),
      pid: String(hostToCtr.get(p.pid)),
      ppid: String(hostToCtr.get(Number(p.stat[1])) ?? 0),
      '%cpu': (elapsed > 0 ? (100 * cpuSec) / elapsed : 0).toFixed(3),
      elapsed: duration(elapsed),
      tty: Number(p.stat[4]) ? `pts/${Number(p.stat[4]) & 0xff}` : '?',
      time: duration(cpuSec),
      args: p.cmd,
      comm: p.cmd.split(' ')[0],
    };
    rows.push(wanted.map((d) => values[d]));
  }
  return rows;
}
