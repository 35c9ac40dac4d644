// Container records: one directory per container under the graph root, with
// container.json written atomically.  Everything else about a container (used
// ID blocks, names) is derived from the records, so there is no second index
// that a crash could leave out of step.
import type { NetworkAttach, NetworkKind } from '../network/mode';
import type { PortMapping } from '../network/ports';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { UsernsMode } from '../userns/mapping';
import { writeJsonAtomic } from './atomic';
import { readRecord, readRecords } from './records';
import { withLock } from './lock';
import { randomHex } from './random';

export type ContainerStatus = 'created' | 'running' | 'stopping' | 'exited' | 'removing';

export interface ContainerState {
  status: ContainerStatus;
  /**
   * PID of the process that waits for the container (the OCI runtime, or
   * conmon); while a start is under way, the selkie process starting it
   */
  monitorPid?: number;
  /** its start time from /proc/PID/stat, to tell it from a recycled PID */
  monitorStart?: string;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  error?: string;
  /** true while the rootfs is mounted */
  mounted?: boolean;
  /** the container's init process (host PID) and its start time */
  pid?: number;
  pidStart?: string;
  /** conmon holds the container (detached, attachable, logged) */
  conmon?: boolean;
  /** stop/kill by the user: restart policies other than "always" leave it stopped */
  stoppedByUser?: boolean;
  restartCount?: number;
  health?: HealthState;
  /** published ports as bound at the last start (random host ports chosen) */
  ports?: PortMapping[];
  /** bridge networks: the addresses this run got, in the order of its interfaces */
  networks?: NetworkAddress[];
}

/** A running container's place on one bridge network. */
export interface NetworkAddress {
  name: string;
  /** the network's ID */
  id: string;
  iface: string;
  ip: string;
  prefixLen: number;
  gateway: string;
  mac: string;
}

export interface HealthState {
  status: 'starting' | 'healthy' | 'unhealthy';
  failingStreak: number;
  log: { start: string; end: string; exitCode: number; output: string }[];
}

export interface RestartPolicy {
  name: 'no' | 'on-failure' | 'always' | 'unless-stopped';
  maxRetries?: number;
}

export interface HealthConfig {
  test: string[];
  intervalMs: number;
  timeoutMs: number;
  startPeriodMs: number;
  retries: number;
}

/** One -v/--mount of a container (parsed in engine/mount-spec.ts). */
export interface MountSpec {
  type: 'volume' | 'bind' | 'tmpfs';
  /** volume name (undefined: an anonymous volume, named at create) or host path */
  source?: string;
  destination: string;
  readOnly: boolean;
  /** :U / chown=true: hand the source to the container's user */
  chown: boolean;
  /** volume-nocopy / nocopy: no copy-up of the image's content */
  noCopy: boolean;
  /** propagation and other options passed to the runtime as they are */
  options: string[];
  /** set at create for anonymous volumes, so rm -v / --rm remove them */
  anonymous?: boolean;
}

/** What the container runs: the image config merged with the command-line options. */
export interface ContainerConfig {
  args: string[];
  entrypoint: string[];
  cmd: string[];
  env: string[];
  workingDir: string;
  user: string;
  hostname: string;
  tty: boolean;
  interactive: boolean;
  readOnly: boolean;
  /** none, host, pasta, slirp4netns, container (sharing networkContainer's), or bridge (networks) */
  network: NetworkKind;
  /** network bridge: the user-defined networks, the first gives the default route */
  networks?: NetworkAttach[];
  /** pasta's extra arguments or slirp4netns's options (--network KIND:OPTIONS) */
  networkOptions?: string[];
  /** --network container:X: X's ID */
  networkContainer?: string;
  /** -p / -P, as asked (host port 0: chosen at start) */
  ports?: PortMapping[];
  /** the image's ExposedPorts and --expose */
  exposedPorts?: string[];
  dns?: string[];
  dnsSearch?: string[];
  dnsOption?: string[];
  capAdd: string[];
  capDrop: string[];
  privileged: boolean;
  securityOpt: string[];
  labels: Record<string, string>;
  stopSignal?: string;
  /** k8s-file (Podman's format, the default) or none */
  logDriver?: 'k8s-file' | 'none';
  /** --log-opt: max-size, path, tag */
  logOpts?: Record<string, string>;
  restart?: RestartPolicy;
  /** seconds between the stop signal and SIGKILL */
  stopTimeout?: number;
  /** run catatonit as the container's PID 1 */
  init?: boolean;
  healthcheck?: HealthConfig;
  annotations?: Record<string, string>;
  tmpfs?: Record<string, string>;
  addHosts?: string[];
  devices?: string[];
  ulimits?: string[];
  /** --sysctl, validated at create */
  sysctls?: Record<string, string>;
  resources?: { memory?: number; cpus?: number; pidsLimit?: number };
  /** -v, --mount and the image's VOLUMEs (anonymous volumes named at create) */
  mounts?: MountSpec[];
}

export interface ContainerRecord {
  id: string;
  name: string;
  created: string;
  image: { id: string; name: string; layers: string[] };
  config: ContainerConfig;
  userns: { mode: UsernsMode; block?: number };
  /** how its root is mounted (the IDs in its upper layer depend on it) */
  storage?: { driver: 'overlay' | 'fuse-overlayfs' };
  autoRemove: boolean;
  state: ContainerState;
}

export class ContainerStore {
  readonly dir: string;
  private readonly lockPath: string;

  constructor(graphRoot: string) {
    this.dir = join(graphRoot, 'containers');
    this.lockPath = join(graphRoot, 'containers.lock');
  }

  containerDir(id: string): string {
    return join(this.dir, id);
  }

  /** Serializes changes to the set of containers (names, ID blocks). */
  locked<T>(fn: () => T): T {
    return withLock(this.lockPath, fn);
  }

  newId(): string {
    return randomHex(32);
  }

  list(): ContainerRecord[] {
    return readRecords<ContainerRecord>(this.dir, 'container.json', (r) => r.created);
  }

  /** A torn or foreign record reads as absent: the directory is swept by rm. */
  get(id: string): ContainerRecord | undefined {
    return readRecord<ContainerRecord>(this.dir, id, 'container.json');
  }

  /** Writes a record; the directory is created on first write. */
  save(rec: ContainerRecord): void {
    mkdirSync(join(this.dir, rec.id), { recursive: true, mode: 0o700 });
    writeJsonAtomic(join(this.dir, rec.id, 'container.json'), rec, 0o600, false);
  }

  /** Read-modify-write of one record under the store lock; undefined if it vanished. */
  update(id: string, fn: (rec: ContainerRecord) => void): ContainerRecord | undefined {
    return this.locked(() => {
      const rec = this.get(id);
      if (!rec) return undefined;
      fn(rec);
      this.save(rec);
      return rec;
    });
  }

  removeRecord(id: string): void {
    rmSync(join(this.dir, id), { recursive: true, force: true });
  }

  /** Finds a container by full ID, unique ID prefix or name. */
  lookup(ref: string): ContainerRecord | undefined {
    const all = this.list();
    const byName = all.find((c) => c.name === ref);
    if (byName) return byName;
    const exact = all.find((c) => c.id === ref);
    if (exact) return exact;
    if (/^[0-9a-f]{3,63}$/.test(ref)) {
      const matches = all.filter((c) => c.id.startsWith(ref));
      if (matches.length > 1) throw new Error(`more than one container matches "${ref}": use a longer ID`);
      return matches[0];
    }
    return undefined;
  }
}
