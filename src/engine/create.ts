// `create`: merges the image's config with the command line into a container
// record, and gives the container its own block of IDs.
import { readFileSync } from 'node:fs';
import type { ImageConfig } from '../image/schema';
import type { ContainerConfig, ContainerRecord } from '../state/containers';
import { recordContainerEvent } from '../state/events';
import { NAME_PATTERN, NAME_RULE, randomName, validName } from '../state/names';
import { blockCount, lowestFreeBlock, parseUsernsMode, type UsernsMode } from '../userns/mapping';
import { sessionLayout } from '../userns/session';
import type { EngineContext } from './context';
import { EngineError } from './errors';
import { requireImage } from './images';
import { mergeEnv } from './env';
import { NetworkFlagError, networkConfig, type NetworkFlags } from '../network/config';
import { hostAddress } from '../network/host-address';
import { HOST_GATEWAY, NO_HOST_ADDRESS } from '../network/hosts';
import { resolveNetworkName } from './network-attach';
export { DEFAULT_PATH, mergeEnv, parseEnvFile } from './env';
import { trace } from '../trace';
import { detectCgroups } from './info';
import { chooseDriver } from './container-mount';
import { parseMounts } from './mount-spec';
import { resolveContainerMounts } from './volumes';
import { parseSize } from './log-config';
import { normalizeSignal, SignalError } from '../runtime/signals';
import { healthConfig, parseAddHost, parseDevice, parseResources, parseRestart, parseSysctls, parseTmpfs, parseUlimit, type HealthFlags } from './run-options';

/** The command line of run/create; the network flags are network/config.ts's. */
export interface CreateOptions extends NetworkFlags {
  image: string;
  command: string[];
  entrypoint?: string;
  env: string[];
  envFiles: string[];
  workdir?: string;
  user?: string;
  name?: string;
  hostname?: string;
  userns?: string;
  readOnly: boolean;
  capAdd: string[];
  capDrop: string[];
  privileged: boolean;
  securityOpt: string[];
  rm: boolean;
  interactive: boolean;
  tty: boolean;
  labels: string[];
  logDriver?: string;
  logOpts?: string[];
  restart?: string;
  stopSignal?: string;
  stopTimeout?: string;
  init?: boolean;
  health?: HealthFlags;
  annotations?: string[];
  tmpfs?: string[];
  addHosts?: string[];
  devices?: string[];
  ulimits?: string[];
  /** --sysctl NAME=VALUE */
  sysctls?: string[];
  memory?: string;
  cpus?: string;
  pidsLimit?: string;
  /** -v/--volume */
  volumes?: string[];
  /** --mount */
  mounts?: string[];
}

/** --entrypoint: a JSON array or a single string; "" clears the image's. */
export function parseEntrypoint(text: string | undefined, image: string[] | null | undefined): string[] {
  if (text === undefined) return image ?? [];
  if (text === '') return [];
  if (text.trimStart().startsWith('[')) {
    try {
      const arr = JSON.parse(text) as unknown;
      if (Array.isArray(arr) && arr.every((a) => typeof a === 'string')) return arr;
    } catch {
      /* a plain string that starts with "[" */
    }
  }
  return [text];
}

export function parseLabels(labels: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of labels) {
    const eq = l.indexOf('=');
    out[eq < 0 ? l : l.slice(0, eq)] = eq < 0 ? '' : l.slice(eq + 1);
  }
  return out;
}

export function buildConfig(
  opts: CreateOptions,
  image: ImageConfig,
  envFiles: { text: string; file: string }[],
  warn?: (msg: string) => void,
): ContainerConfig {
  const ic = image.config ?? {};
  const entrypoint = parseEntrypoint(opts.entrypoint, ic.Entrypoint);
  // Docker: --entrypoint resets the image's Cmd too.
  const cmd = opts.command.length ? opts.command : opts.entrypoint !== undefined ? [] : (ic.Cmd ?? []);
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) throw new EngineError('no command or entrypoint provided, and no CMD or ENTRYPOINT from image');
  let net;
  try {
    net = networkConfig(opts, ic.ExposedPorts, warn);
  } catch (err) {
    if (err instanceof NetworkFlagError) throw new EngineError(err.message);
    throw err;
  }
  const toHost = opts.addHosts?.find((h) => h.endsWith(`:${HOST_GATEWAY}`));
  if (toHost && hostAddress(net.network, net.networkOptions ?? []) === undefined) {
    throw new EngineError(`--add-host ${toHost}: ${NO_HOST_ADDRESS}`);
  }
  return {
    args,
    entrypoint,
    cmd,
    env: mergeEnv(ic.Env, envFiles, opts.env),
    workingDir: opts.workdir ?? (ic.WorkingDir || '/'),
    user: opts.user ?? ic.User ?? '',
    hostname: opts.hostname ?? '',
    tty: opts.tty,
    interactive: opts.interactive,
    readOnly: opts.readOnly,
    ...net,
    capAdd: opts.capAdd,
    capDrop: opts.capDrop,
    privileged: opts.privileged,
    securityOpt: opts.securityOpt,
    labels: { ...(ic.Labels ?? {}), ...parseLabels(opts.labels) },
    stopSignal: opts.stopSignal !== undefined ? checkedSignal(opts.stopSignal) : (ic.StopSignal ?? undefined),
    ...runtimeFlags(opts, ic),
    ...(opts.sysctls?.length ? { sysctls: parseSysctls(opts.sysctls, net.network, net.network === 'container') } : {}),
  };
}

function checkedSignal(sig: string): string {
  try {
    return normalizeSignal(sig);
  } catch (err) {
    if (err instanceof SignalError) throw new EngineError(err.message);
    throw err;
  }
}

function keyValues(list: string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new EngineError(`invalid ${flag} "${kv}": use KEY=VALUE`);
    out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

/** The flags of the container lifecycle issue, validated here so that `create` fails, not `start`. */
function runtimeFlags(opts: CreateOptions, ic: NonNullable<ImageConfig['config']>): Partial<ContainerConfig> {
  const out: Partial<ContainerConfig> = {};
  const driver = opts.logDriver ?? 'k8s-file';
  if (driver !== 'k8s-file' && driver !== 'none') {
    throw new EngineError(`unsupported log driver "${driver}": selkie supports k8s-file and none`);
  }
  out.logDriver = driver;
  const logOpts = keyValues(opts.logOpts, '--log-opt');
  for (const k of Object.keys(logOpts)) {
    if (!['max-size', 'path', 'tag', 'max-file'].includes(k)) throw new EngineError(`invalid --log-opt "${k}": supported are max-size, path, tag`);
  }
  if (logOpts['max-size']) parseSize(logOpts['max-size']);
  if (logOpts.path && !logOpts.path.startsWith('/')) throw new EngineError('--log-opt path must be an absolute path');
  if (Object.keys(logOpts).length) out.logOpts = logOpts;
  const restart = parseRestart(opts.restart);
  if (restart) {
    if (restart.name !== 'no' && opts.rm) throw new EngineError('the --rm option conflicts with --restart when the restart policy is not "no"');
    out.restart = restart;
  }
  if (opts.stopTimeout !== undefined) {
    if (!/^\d+$/.test(opts.stopTimeout)) throw new EngineError(`invalid --stop-timeout "${opts.stopTimeout}": must be whole seconds`);
    out.stopTimeout = Number(opts.stopTimeout);
  }
  if (opts.init) out.init = true;
  const health = healthConfig(opts.health ?? {}, ic.Healthcheck);
  if (health) out.healthcheck = health;
  const annotations = keyValues(opts.annotations, '--annotation');
  if (Object.keys(annotations).length) out.annotations = annotations;
  if (opts.tmpfs?.length) {
    out.tmpfs = {};
    for (const t of opts.tmpfs) {
      const m = parseTmpfs(t);
      out.tmpfs[m.destination] = (m.options ?? []).join(',');
    }
  }
  if (opts.addHosts?.length) out.addHosts = opts.addHosts.map(parseAddHost);
  if (opts.devices?.length) {
    opts.devices.forEach(parseDevice);
    out.devices = opts.devices;
  }
  if (opts.ulimits?.length) {
    opts.ulimits.forEach(parseUlimit);
    out.ulimits = opts.ulimits;
  }
  const resources = parseResources({ memory: opts.memory, cpus: opts.cpus, pidsLimit: opts.pidsLimit });
  if (resources) out.resources = resources;
  return out;
}

export function createContainer(ctx: EngineContext, opts: CreateOptions): ContainerRecord {
  if (opts.name !== undefined && !NAME_PATTERN.test(opts.name)) {
    throw new EngineError(`container name "${opts.name}" is invalid: ${NAME_RULE}`);
  }
  // it goes into /etc/hosts (and the peers' on user-defined networks)
  if (opts.hostname && (!validName(opts.hostname) || opts.hostname.length > 253)) {
    throw new EngineError(`invalid hostname ${JSON.stringify(opts.hostname)}: ${NAME_RULE}: invalid argument`);
  }
  let mode: UsernsMode;
  try {
    mode = parseUsernsMode(opts.userns);
  } catch (err) {
    throw new EngineError((err as Error).message);
  }
  const image = requireImage(ctx, opts.image);
  trace('create: image found');
  const imageConfig = ctx.images.config(image.id);
  trace('create: image config read');
  const envFiles = opts.envFiles.map((file) => {
    try {
      return { text: readFileSync(file, 'utf8'), file };
    } catch (err) {
      throw new EngineError(`cannot read env file ${file}: ${(err as Error).message}`);
    }
  });
  const config = buildConfig(opts, imageConfig, envFiles, ctx.warn);
  if (config.networkContainer) {
    const other = ctx.containers.lookup(config.networkContainer);
    if (!other) throw new EngineError(`--network container:${config.networkContainer}: no such container`);
    config.networkContainer = other.id;
  }
  for (const n of config.networks ?? []) {
    const name = resolveNetworkName(ctx, n.name);
    if (!name) throw new EngineError(`unable to find network with name or ID ${n.name}: network not found`);
    n.name = name;
  }
  const specs = parseMounts(opts.volumes, opts.mounts);
  const imageVolumes = Object.keys(imageConfig.config?.Volumes ?? {});
  if (config.resources) {
    // Limits need a cgroup of the container's own: cgroup v2 delegated to the user.
    const cg = detectCgroups();
    const asked = Object.keys(config.resources).map((k) => (k === 'pidsLimit' ? '--pids-limit' : `--${k}`)).join(', ');
    throw new EngineError(
      cg.limitsUsable
        ? `${asked}: selkie does not place containers in cgroups yet, so the limit cannot be enforced`
        : `${asked}: resource limits cannot be enforced here: ${cg.reason}`,
    );
  }
  trace('create: config built');
  const layout = sessionLayout();
  if (layout.size <= 1 && mode !== 'host') {
    // A single-ID session: there is nothing to give a container but S itself.
    mode = 'host';
  }
  ctx.ensureDirs();
  trace('create: session layout');
  const needVolumes = specs.length > 0 || imageVolumes.length > 0;
  // With volumes: under the volume lock too (taken first), so that no
  // `volume rm` or `prune` sees a volume between its creation here and the
  // record that uses it.
  const save = () => ctx.containers.locked(() => {
    const all = ctx.containers.list();
    trace('create: records listed');
    const names = new Set(all.map((c) => c.name));
    let name = opts.name;
    if (name !== undefined && names.has(name)) {
      const holder = all.find((c) => c.name === name)!;
      throw new EngineError(
        `creating container storage: the container name "${name}" is already in use by ${holder.id}. ` +
          'You have to remove that container to be able to reuse that name: that name is already in use',
      );
    }
    while (name === undefined || names.has(name)) name = randomName();
    let block: number | undefined;
    if (mode !== 'host') {
      const count = blockCount(layout.size);
      block = lowestFreeBlock(all.map((c) => c.userns.block).filter((b): b is number => b !== undefined), count);
      if (block === undefined) {
        throw new EngineError(
          count === 0
            ? `your subordinate ID range (${layout.size - 1} IDs) is too small for a container of its own: ` +
                'it needs at least 131072 (65536 for images and 65536 per container); use --userns=host or extend /etc/subuid and /etc/subgid'
            : `all ${count} ID blocks of your subordinate range are in use by other containers: remove one, use --userns=host, or extend /etc/subuid and /etc/subgid`,
        );
      }
    }
    if (needVolumes) config.mounts = resolveContainerMounts(ctx, specs, imageVolumes, Object.keys(config.tmpfs ?? {}), true);
    const id = ctx.containers.newId();
    const rec: ContainerRecord = {
      id,
      name,
      created: new Date().toISOString(),
      image: { id: image.id, name: image.names[0] ?? image.id, layers: image.layers },
      config: { ...config, hostname: config.hostname || id.slice(0, 12) },
      userns: { mode, ...(block !== undefined ? { block } : {}) },
      storage: { driver: chooseDriver(mode, image.layers.every((l) => ctx.layers.get(l)?.rootOwned === true)) },
      autoRemove: opts.rm,
      state: { status: 'created' },
    };
    trace('create: record built');
    ctx.containers.save(rec);
    trace('create: record saved');
    recordContainerEvent(ctx, 'create', rec);
    return rec;
  });
  return needVolumes ? ctx.volumes.locked(save) : save();
}
