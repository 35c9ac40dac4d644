// Builds the OCI runtime spec (config.json) crun executes.  Pure: everything
// it needs is passed in, so it is unit-tested without a kernel.
import type { MapEntry } from '../userns/subid';

export interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export interface SpecInput {
  args: string[];
  env: string[];
  cwd: string;
  user: { uid: number; gid: number; additionalGids: number[] };
  terminal: boolean;
  hostname: string;
  rootfs: string;
  readOnly: boolean;
  /** undefined: run in the session namespace itself (--userns=host) */
  uidMap?: MapEntry[];
  gidMap?: MapEntry[];
  /** 'host': no network namespace; otherwise a new one, or the one at netnsPath */
  network: string;
  /** an existing network namespace to join (pasta's, another container's) */
  netnsPath?: string;
  capabilities: string[];
  noNewPrivileges: boolean;
  seccomp?: object;
  maskedPaths: string[];
  readonlyPaths: string[];
  /** whether GID 5 (tty) exists in the container: devpts gets gid=5 only then */
  ttyGroup: boolean;
  /** files selkie generates (hosts, hostname, resolv.conf) bound over the image's */
  etcFiles: { destination: string; source: string }[];
  annotations?: Record<string, string>;
  /** --tmpfs, --device binds, the init binary: after the defaults, in order */
  extraMounts?: OciMount[];
  /** --ulimit */
  rlimits?: { type: string; soft: number; hard: number }[];
  /** namespaced sysctls (--sysctl, and the defaults) */
  sysctl?: Record<string, string>;
}

function toOciMap(entries: MapEntry[]) {
  return entries.map((e) => ({ containerID: e.inner, hostID: e.outer, size: e.count }));
}

/** The mounts every container gets, as Podman sets them up for rootless containers. */
export function defaultMounts(input: Pick<SpecInput, 'network' | 'readOnly' | 'ttyGroup'>): OciMount[] {
  const mounts: OciMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      // gid=5 (tty) only where the mapping has it: the kernel refuses an unmapped gid.
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', ...(input.ttyGroup ? ['gid=5'] : [])],
    },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
  ];
  // sysfs can be mounted only by the owner of the network namespace; with the
  // host's network, bind the host's /sys read-only as Podman does.
  mounts.push(
    input.network === 'host'
      ? { destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] }
      : { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
  );
  if (input.readOnly) {
    // Podman's --read-only-tmpfs default: writable scratch space where programs expect it.
    for (const d of ['/run', '/tmp', '/var/tmp']) {
      mounts.push({ destination: d, type: 'tmpfs', source: 'tmpfs', options: ['rw', 'rprivate', 'nosuid', 'nodev', 'tmpcopyup'] });
    }
  }
  return mounts;
}

export function buildSpec(input: SpecInput): object {
  const namespaces: { type: string; path?: string }[] = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  if (input.network !== 'host') namespaces.push(input.netnsPath ? { type: 'network', path: input.netnsPath } : { type: 'network' });
  const linux: Record<string, unknown> = {
    namespaces,
    maskedPaths: input.maskedPaths,
    readonlyPaths: input.readonlyPaths,
  };
  if (input.uidMap && input.gidMap) {
    namespaces.push({ type: 'user' });
    linux.uidMappings = toOciMap(input.uidMap);
    linux.gidMappings = toOciMap(input.gidMap);
  }
  if (input.seccomp) linux.seccomp = input.seccomp;

  const caps = input.capabilities;
  const spec: Record<string, unknown> = {
    ociVersion: '1.0.2',
    process: {
      terminal: input.terminal,
      user: {
        uid: input.user.uid,
        gid: input.user.gid,
        ...(input.user.additionalGids.length ? { additionalGids: input.user.additionalGids } : {}),
      },
      args: input.args,
      env: input.env,
      cwd: input.cwd,
      // A non-root user starts with no effective capabilities, as under Docker and Podman.
      capabilities: {
        bounding: caps,
        effective: input.user.uid === 0 ? caps : [],
        permitted: input.user.uid === 0 ? caps : [],
      },
      noNewPrivileges: input.noNewPrivileges,
    },
    root: { path: input.rootfs, readonly: input.readOnly },
    hostname: input.hostname,
    mounts: [
      ...defaultMounts(input),
      ...input.etcFiles.map((f) => ({
        destination: f.destination,
        type: 'bind',
        source: f.source,
        options: ['bind', 'rprivate', 'nosuid', 'noexec', 'nodev'],
      })),
      ...(input.extraMounts ?? []),
    ],
    linux,
  };
  if (input.annotations && Object.keys(input.annotations).length) spec.annotations = input.annotations;
  if (input.rlimits?.length) (spec.process as Record<string, unknown>).rlimits = input.rlimits;
  if (input.sysctl && Object.keys(input.sysctl).length) (spec.linux as Record<string, unknown>).sysctl = input.sysctl;
  return spec;
}
