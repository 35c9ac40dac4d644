// `info`: what this host gives rootless containers, and what selkie stores.
import { accessSync, constants, readFileSync } from 'node:fs';
import { hostname, release } from 'node:os';
import { goArch } from '../image/platform';
import { join } from 'node:path';
import { hostIds } from '../config/paths';
import { RUNTIME, runtimeVersion } from '../runtime/crun';
import { BLOCK_SIZE, blockCount } from '../userns/mapping';
import { inSession, livePausePid, sessionLayout } from '../userns/session';
import type { EngineContext } from './context';
import { effectiveStatus } from './liveness';

export interface CgroupInfo {
  version: 'v1' | 'v2';
  /** whether resource limits can be applied to rootless containers */
  limitsUsable: boolean;
  reason: string;
}

export function detectCgroups(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8'), uid = hostIds().uid): CgroupInfo {
  const root = mountinfo.split('\n').find((l) => l.split(' ')[4] === '/sys/fs/cgroup');
  const fstype = root?.split(' - ')[1]?.split(' ')[0];
  if (fstype !== 'cgroup2') {
    return { version: 'v1', limitsUsable: false, reason: 'cgroups v1: rootless containers cannot have resource limits (they need cgroup v2 with delegation)' };
  }
  const service = `/sys/fs/cgroup/user.slice/user-${uid}.slice/user@${uid}.service`;
  try {
    accessSync(join(service, 'cgroup.subtree_control'), constants.W_OK);
    const controllers = readFileSync(join(service, 'cgroup.controllers'), 'utf8').trim();
    return { version: 'v2', limitsUsable: controllers.length > 0, reason: controllers ? `delegated controllers: ${controllers}` : 'no controllers delegated to the user' };
  } catch {
    return { version: 'v2', limitsUsable: false, reason: 'cgroup v2 without delegation to this user (no writable user@.service cgroup)' };
  }
}

export function info(ctx: EngineContext, version: string): Record<string, unknown> {
  const layout = sessionLayout();
  const cg = detectCgroups();
  const containers = ctx.containers.list();
  const running = containers.filter((c) => effectiveStatus(c) === 'running').length;
  const fmt = (m: { inner: number; outer: number; count: number }[]) => m.map((e) => ({ container_id: e.inner, host_id: e.outer, size: e.count }));
  const blocks = blockCount(layout.size);
  return {
    host: {
      arch: goArch(),
      os: 'linux',
      kernel: release(),
      hostname: hostname(),
      cgroupVersion: cg.version,
      cgroupManager: 'disabled',
      resourceLimits: { usable: cg.limitsUsable, reason: cg.reason },
      idMappings: { uidmap: fmt(layout.uidMap), gidmap: fmt(layout.gidMap) },
      ociRuntime: { name: 'crun', path: RUNTIME, version: runtimeVersion() ?? 'unavailable' },
      security: {
        rootless: layout.host.uid !== 0,
        seccompEnabled: true,
        seccompProfilePath: 'built-in',
        capabilities: 'CAP_CHOWN,CAP_DAC_OVERRIDE,CAP_FOWNER,CAP_FSETID,CAP_KILL,CAP_NET_BIND_SERVICE,CAP_SETFCAP,CAP_SETGID,CAP_SETPCAP,CAP_SETUID,CAP_SYS_CHROOT',
      },
      session: { pausePid: livePausePid() ?? 0, joined: inSession() },
    },
    store: {
      graphRoot: ctx.paths.graphRoot,
      runRoot: ctx.paths.runRoot,
      graphDriverName: 'overlay',
      graphDriverOptions: { private: 'fuse-overlayfs (mapped IDs)', host: 'kernel overlay' },
      imageStore: { number: ctx.images.list().length },
      containerStore: { number: containers.length, running, stopped: containers.length - running, paused: 0 },
      idBlocks: {
        blockSize: BLOCK_SIZE,
        total: blocks,
        used: containers.filter((c) => c.userns.block !== undefined).length,
      },
    },
    version: { Version: version, NodeVersion: process.version, OsArch: `linux/${goArch()}` },
  };
}
