// The views other commands print: `ps` rows, `images` rows, and the JSON of
// `inspect`, with Podman's field names so scripts written for it keep working.
import { publishedPorts } from '../network/config';
import { portBindings } from '../network/ports';
import { needsNetns } from '../network/setup';
import { join } from 'node:path';
import type { ImageConfig } from '../image/schema';
import { repoDigestsOf, type ImageRecord } from '../image/record';
import type { ContainerRecord } from '../state/containers';
import { containerMapping } from '../userns/mapping';
import { hostIds } from '../config/paths';
import { resolveCapabilities } from '../runtime/security';
import type { EngineContext } from './context';
import { containerPid, effectiveStatus } from './liveness';
import { containerDriver } from './container-mount';
import { logPathOf } from './log-config';
import { addHostSpec } from '../network/hosts';

const ZERO_TIME = '0001-01-01T00:00:00Z';

/** Podman's inspect Mounts: volumes and binds (tmpfs mounts are under HostConfig there). */
function mountsView(ctx: EngineContext, rec: ContainerRecord): object[] {
  return (rec.config.mounts ?? [])
    .filter((m) => m.type !== 'tmpfs')
    .map((m) => ({
      Type: m.type,
      ...(m.type === 'volume' ? { Name: m.source } : {}),
      Source: m.type === 'volume' ? ctx.volumes.dataDir(m.source!) : m.source,
      Destination: m.destination,
      Driver: m.type === 'volume' ? 'local' : '',
      Mode: '',
      Options: ['rbind', ...(m.chown ? ['U'] : [])],
      RW: !m.readOnly,
      Propagation: m.options.find((o) => /^r?(private|shared|slave|unbindable)$/.test(o)) ?? 'rprivate',
    }));
}

export function containerStorageDriver(rec: ContainerRecord): string {
  return containerDriver(rec);
}

export function inspectContainer(ctx: EngineContext, rec: ContainerRecord): Record<string, unknown> {
  const status = effectiveStatus(rec);
  const runDir = ctx.runDir(rec.id);
  const ctrDir = ctx.containers.containerDir(rec.id);
  const pid = containerPid(rec, runDir);
  const caps = resolveCapabilities({ add: rec.config.capAdd, drop: rec.config.capDrop, privileged: rec.config.privileged });
  const mapping = containerMapping(rec.userns.mode, rec.userns.block, hostIds());
  const fmtMap = (m?: { inner: number; outer: number; count: number }[]) =>
    (m ?? []).map((e) => ({ ContainerID: e.inner, HostID: e.outer, Size: e.count }));
  return {
    Id: rec.id,
    Created: rec.created,
    Path: rec.config.args[0],
    Args: rec.config.args.slice(1),
    State: {
      OciVersion: '1.0.2',
      Status: status,
      Running: status === 'running',
      Paused: false,
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: pid,
      ConmonPid: status === 'running' ? (rec.state.monitorPid ?? 0) : 0,
      ExitCode: rec.state.exitCode ?? 0,
      Error: rec.state.error ?? '',
      StartedAt: rec.state.startedAt ?? ZERO_TIME,
      FinishedAt: rec.state.finishedAt ?? ZERO_TIME,
      ...(rec.config.healthcheck ? { Health: healthOf(rec) } : {}),
    },
    Image: rec.image.id,
    ImageName: rec.image.name,
    Rootfs: '',
    Pod: '',
    ResolvConfPath: join(runDir, 'resolv.conf'),
    HostnamePath: join(runDir, 'hostname'),
    HostsPath: join(runDir, 'hosts'),
    StaticDir: ctrDir,
    OCIConfigPath: join(runDir, 'config.json'),
    OCIRuntime: 'crun',
    PidFile: join(runDir, 'pidfile'),
    Name: rec.name,
    RestartCount: rec.state.restartCount ?? 0,
    Driver: containerStorageDriver(rec),
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    EffectiveCaps: caps,
    BoundingCaps: caps,
    ExecIDs: [],
    GraphDriver: {
      Name: containerStorageDriver(rec),
      Data: {
        LowerDir: [...rec.image.layers].reverse().map((d) => join(ctx.layers.dir, d.slice(7))).join(':'),
        UpperDir: join(ctrDir, 'diff'),
        WorkDir: join(ctrDir, 'work'),
        MergedDir: join(runDir, 'rootfs'),
      },
    },
    Mounts: mountsView(ctx, rec),
    Dependencies: [],
    NetworkSettings: {
      Ports: portBindings(publishedPorts(rec), rec.config.exposedPorts),
      SandboxKey: needsNetns(rec.config.network) && status === 'running' ? join(runDir, 'netns') : '',
      ...bridgeSettings(rec, status === 'running'),
    },
    Namespace: '',
    IsInfra: false,
    Config: {
      Hostname: rec.config.hostname,
      Domainname: '',
      User: rec.config.user,
      AttachStdin: rec.config.interactive,
      AttachStdout: true,
      AttachStderr: true,
      Tty: rec.config.tty,
      OpenStdin: rec.config.interactive,
      StdinOnce: false,
      Env: rec.config.env,
      Cmd: rec.config.cmd,
      Image: rec.image.name,
      Volumes: null,
      WorkingDir: rec.config.workingDir,
      Entrypoint: rec.config.entrypoint.join(' '),
      Labels: rec.config.labels,
      Annotations: rec.config.annotations ?? {},
      StopSignal: rec.config.stopSignal ?? 'SIGTERM',
      StopTimeout: rec.config.stopTimeout ?? 10,
      ...(rec.config.healthcheck
        ? {
            Healthcheck: {
              Test: rec.config.healthcheck.test,
              Interval: rec.config.healthcheck.intervalMs * 1e6,
              Timeout: rec.config.healthcheck.timeoutMs * 1e6,
              StartPeriod: rec.config.healthcheck.startPeriodMs * 1e6,
              Retries: rec.config.healthcheck.retries,
            },
          }
        : {}),
    },
    HostConfig: {
      AutoRemove: rec.autoRemove,
      NetworkMode: networkModeOf(rec),
      PortBindings: portBindings(rec.config.ports ?? []),
      Dns: rec.config.dns ?? [],
      DnsSearch: rec.config.dnsSearch ?? [],
      DnsOptions: rec.config.dnsOption ?? [],
      Privileged: rec.config.privileged,
      ReadonlyRootfs: rec.config.readOnly,
      CapAdd: rec.config.capAdd,
      CapDrop: rec.config.capDrop,
      SecurityOpt: rec.config.securityOpt,
      RestartPolicy: { Name: rec.config.restart?.name ?? '', MaximumRetryCount: rec.config.restart?.maxRetries ?? 0 },
      LogConfig: {
        Type: rec.config.logDriver ?? 'k8s-file',
        Config: rec.config.logOpts ?? null,
        Path: rec.config.logDriver === 'none' ? '' : logPathOf(ctx, rec),
        Size: rec.config.logOpts?.['max-size'] ?? '0B',
      },
      Init: !!rec.config.init,
      Tmpfs: rec.config.tmpfs ?? {},
      ExtraHosts: (rec.config.addHosts ?? []).map(addHostSpec),
      Ulimits: (rec.config.ulimits ?? []).map((u) => {
        const [name, limits] = u.split('=');
        const [soft, hard] = limits.split(':');
        return { Name: `RLIMIT_${name.toUpperCase()}`, Soft: Number(soft), Hard: Number(hard ?? soft) };
      }),
      Sysctls: rec.config.sysctls ?? {},
      UsernsMode: rec.userns.mode === 'private' ? '' : rec.userns.mode,
      IDMappings: { UidMap: fmtMap(mapping.uid), GidMap: fmtMap(mapping.gid) },
    },
    // selkie's own: which block of the user's subordinate IDs this container holds.
    IDBlock: rec.userns.block ?? null,
  };
}

/** Podman's State.Health. */
function healthOf(rec: ContainerRecord) {
  const h = rec.state.health;
  return {
    Status: h?.status ?? 'starting',
    FailingStreak: h?.failingStreak ?? 0,
    Log: (h?.log ?? []).map((l) => ({ Start: l.start, End: l.end, ExitCode: l.exitCode, Output: l.output })),
  };
}

export function psRow(rec: ContainerRecord, now: Date): Record<string, unknown> {
  const status = effectiveStatus(rec);
  return {
    ID: rec.id.slice(0, 12),
    FullID: rec.id,
    Image: rec.image.name,
    ImageID: rec.image.id,
    Command: rec.config.args.join(' '),
    Created: Math.floor(Date.parse(rec.created) / 1000),
    CreatedAt: rec.created,
    State: status,
    StartedAt: rec.state.startedAt ? Math.floor(Date.parse(rec.state.startedAt) / 1000) : 0,
    ExitCode: rec.state.exitCode ?? 0,
    Exited: status === 'exited',
    ExitedAt: rec.state.finishedAt ? Math.floor(Date.parse(rec.state.finishedAt) / 1000) : 0,
    Names: [rec.name],
    Labels: rec.config.labels,
    Ports: [],
    Pid: 0,
    AutoRemove: rec.autoRemove,
    Status: rec.config.healthcheck && status === 'running' ? (rec.state.health?.status ?? 'starting') : '',
    Now: now.toISOString(),
  };
}

export function inspectImage(ctx: EngineContext, rec: ImageRecord, config: ImageConfig): Record<string, unknown> {
  return {
    Id: rec.id,
    Digest: rec.digest ?? `sha256:${rec.id}`,
    RepoTags: rec.names,
    RepoDigests: repoDigestsOf(rec),
    Parent: '',
    Comment: config.history?.at(-1)?.comment ?? '',
    Created: rec.created,
    Config: config.config ?? {},
    Version: '',
    Author: config.author ?? '',
    Architecture: config.architecture ?? '',
    Os: config.os ?? '',
    Size: rec.size,
    VirtualSize: rec.size,
    GraphDriver: {
      Name: 'overlay',
      Data: { LowerDir: [...rec.layers].reverse().map((d) => join(ctx.layers.dir, d.slice(7))).join(':') },
    },
    RootFS: { Type: 'layers', Layers: rec.layers },
    Labels: config.config?.Labels ?? null,
    Annotations: {},
    ManifestType: rec.manifestMediaType ?? 'application/vnd.oci.image.manifest.v1+json',
    User: config.config?.User ?? '',
    History: config.history ?? [],
    NamesHistory: rec.names,
  };
}

export function imageRows(rec: ImageRecord): Record<string, unknown>[] {
  const base = {
    ID: rec.id.slice(0, 12),
    FullID: rec.id,
    Digest: rec.digest ?? `sha256:${rec.id}`,
    Created: Math.floor(Date.parse(rec.created) / 1000),
    CreatedAt: rec.created,
    Size: rec.size,
    Names: rec.names,
    Dangling: rec.names.length === 0,
  };
  if (rec.names.length === 0) return [{ ...base, Repository: '<none>', Tag: '<none>' }];
  return rec.names.map((n) => {
    const at = n.lastIndexOf(':');
    const slash = n.lastIndexOf('/');
    const [repo, tag] = at > slash ? [n.slice(0, at), n.slice(at + 1)] : [n, '<none>'];
    return { ...base, Repository: repo, Tag: tag };
  });
}

/** HostConfig.NetworkMode: "bridge" for the default network, else the first network's name. */
function networkModeOf(rec: ContainerRecord): string {
  if (rec.config.network === 'container') return `container:${rec.config.networkContainer}`;
  if (rec.config.network !== 'bridge') return rec.config.network;
  const first = rec.config.networks?.[0]?.name;
  return !first || first === 'podman' ? 'bridge' : first;
}

/** NetworkSettings of a container on bridge networks: each network, and the first one's address at the top. */
function bridgeSettings(rec: ContainerRecord, running: boolean) {
  if (rec.config.network !== 'bridge') return {};
  const live = running ? (rec.state.networks ?? []) : [];
  const networks: Record<string, object> = {};
  for (const n of rec.config.networks ?? []) {
    const a = live.find((x) => x.name === n.name);
    networks[n.name] = {
      EndpointID: '',
      Gateway: a?.gateway ?? '',
      IPAddress: a?.ip ?? '',
      IPPrefixLen: a?.prefixLen ?? 0,
      IPv6Gateway: '',
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      MacAddress: a?.mac ?? '',
      // Podman 4 shows the network's name here, running or not (5.4 changed it to the ID)
      NetworkID: n.name,
      DriverOpts: null,
      IPAMConfig: null,
      Links: null,
      Aliases: [...(n.aliases ?? []), rec.id.slice(0, 12)],
    };
  }
  const first = live[0];
  return {
    Gateway: first?.gateway ?? '',
    IPAddress: first?.ip ?? '',
    IPPrefixLen: first?.prefixLen ?? 0,
    MacAddress: first?.mac ?? '',
    Networks: networks,
  };
}
