// Starting a container and waiting for it: mount its root filesystem in the
// session namespace, resolve what the image controls (user, working
// directory, command) inside that root, write the OCI spec, run crun, record
// the exit, unmount.
import { spawn } from 'node:child_process';
import { native } from '../native/index';
import { constants as osConstants } from 'node:os';
import { closeSync, existsSync, openSync, read, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { writeFileAtomic } from '../state/atomic';
import { join } from 'node:path';
import { RUNTIME, runArgs, runtimeBinary, runtimeErrors } from '../runtime/crun';
import { resolveUser, RootFs, type ResolvedUser } from '../runtime/rootfs';
import { defaultSeccompProfile, type OciSeccomp } from '../runtime/seccomp';
import { BPF_ANNOTATION, canPrecompile, compiledProfile } from '../runtime/seccomp-bpf';
import { maskedAndReadonlyPaths, parseSecurityOpts, resolveCapabilities } from '../runtime/security';
import { buildSpec, type OciMount } from '../runtime/spec';
import { parseDevice, parseUlimit } from './run-options';
import type { ContainerRecord } from '../state/containers';
import { unmountRootfs } from '../storage/mount';
import { highestMappedGid, toSessionId, type ContainerMapping } from '../userns/mapping';
import { mappingOf, startContainerMount } from './container-mount';
import { presentMounts, releaseMounts } from './volume-mounts';
import { sessionLayout } from '../userns/session';
import type { EngineContext } from './context';
import { EngineError } from './errors';
import { isActive, processStartTime } from './liveness';
import { trace } from '../trace';
import { recordExit } from './cleanup';
import { commandProblem } from './command-check';
import { recordContainerEvent } from '../state/events';
import { attachNetwork, NetworkSetupError, slirpGuestAddress, type NetworkAttachment } from '../network/setup';
import { hostAddress } from '../network/host-address';
import { CONGESTION_SYSCTL, hostCongestionControl, localLegCongestion } from '../network/congestion';
import { HostsNameError, hostsText } from '../network/hosts';
import { attachContainerNetworks, releaseContainerNetwork } from './network-attach';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

function hostsFile(rec: ContainerRecord): string {
  let hostFile: string | undefined;
  if (rec.config.network === 'host') {
    try {
      hostFile = readFileSync('/etc/hosts', 'utf8');
    } catch {
      /* no host file: the defaults do */
    }
  }
  try {
    const { network, networkOptions = [] } = rec.config;
    return hostsText({
      hostname: rec.config.hostname,
      name: rec.name,
      addHosts: rec.config.addHosts,
      hostFile,
      hostAddress: hostAddress(network, networkOptions),
      // Podman: the container's own address on slirp4netns's network.
      selfIp: network === 'slirp4netns' ? slirpGuestAddress(networkOptions) : undefined,
    });
  } catch (err) {
    if (err instanceof HostsNameError) throw new EngineError(err.message);
    throw err;
  }
}

/**
 * resolveUser, remembered per image: while a container has written nothing
 * (its upper layer is empty), /etc/passwd and /etc/group are the image's,
 * which never change, so the answer is kept beside the image and the next
 * `run` of it skips reading them through the mount.
 */
function resolveUserCached(ctx: EngineContext, rec: ContainerRecord, root: RootFs, spec: string, upper: string) {
  let fresh = false;
  try {
    fresh = readdirSync(upper).length === 0;
  } catch {
    fresh = true;
  }
  if (!fresh) return resolveUser(root, spec);
  const file = join(ctx.images.dir, rec.image.id, 'users.json');
  let cache: Record<string, ResolvedUser> = {};
  try {
    cache = JSON.parse(readFileSync(file, 'utf8')) as Record<string, ResolvedUser>;
    if (cache[spec]) return cache[spec];
  } catch {
    /* nothing remembered yet */
  }
  const user = resolveUser(root, spec);
  try {
    writeFileAtomic(file, JSON.stringify({ ...cache, [spec]: user }), 0o600, false);
  } catch {
    /* a cache: the next run resolves again */
  }
  return user;
}

export interface Prepared {
  bundle: string;
  rootfs: string;
  cleanup: () => void;
}

/**
 * The container's sysctls.  With a network namespace of its own, every
 * group of the container may ping (ICMP echo sockets, no CAP_NET_RAW), as
 * Podman's default containers.conf lets root's; then --sysctl.  A network
 * namespace made here (pasta, slirp4netns, bridge networks) belongs to the
 * session's user namespace, so its sysctls are written from here, a group
 * range in session terms (the kernel reads it in the writer's user
 * namespace), and with Reno for TCP where the host paces it (BBR); crun gets
 * the rest, and all of them for a namespace it makes itself (--network none),
 * inside the container's user namespace.
 */
function applySysctls(rec: ContainerRecord, mapping: ContainerMapping, netnsPath: string | undefined): Record<string, string> {
  const own = rec.config.network !== 'host' && rec.config.network !== 'container';
  if (!own) return { ...(rec.config.sysctls ?? {}) };
  const ours = netnsPath !== undefined;
  const allGroups = ours || !mapping.gid ? highestMappedGid() : Math.max(...mapping.gid.map((e) => e.inner + e.count - 1));
  const wanted: Record<string, string> = { 'net.ipv4.ping_group_range': `0 ${allGroups}` };
  if (!ours) return { ...wanted, ...(rec.config.sysctls ?? {}) };
  // The container's TCP ends at a user-space stack on this machine (network/congestion.ts); --sysctl still wins.
  const congestion = localLegCongestion(hostCongestionControl());
  if (congestion) wanted[CONGESTION_SYSCTL] = congestion;
  Object.assign(wanted, rec.config.sysctls ?? {});
  const forRuntime: Record<string, string> = {};
  for (const [key, value] of Object.entries(wanted)) {
    if (!key.startsWith('net.')) {
      forRuntime[key] = value;
      continue;
    }
    let v = value;
    if (key === 'net.ipv4.ping_group_range' && rec.config.sysctls?.[key] !== undefined && mapping.gid) {
      // Given in the container's groups: the same groups in session terms.
      const [lo, hi] = value.trim().split(/\s+/).map((g) => toSessionId(mapping.gid!, Number(g)));
      if (lo === undefined || hi === undefined) throw new EngineError(`sysctl ${key}="${value}": not a range of groups mapped in the container`);
      v = `${lo} ${hi}`;
    }
    try {
      native().netnsSysctl(netnsPath, `/proc/sys/${key.replace(/\./g, '/')}`, v);
    } catch (err) {
      throw new EngineError(`cannot set sysctl ${key}="${value}": ${(err as Error).message}`);
    }
  }
  return forRuntime;
}

/** Everything up to a written config.json with the rootfs mounted. */
export async function prepare(ctx: EngineContext, rec: ContainerRecord): Promise<Prepared> {
  const runDir = ctx.runDir(rec.id);
  const ctrDir = ctx.containers.containerDir(rec.id);
  const mapping = mappingOf(rec);
  // fuse-overlayfs mounts while the parts of the spec that need no root
  // filesystem are made, and the network is set up.
  const { rootfs, ready } = startContainerMount(ctx, rec);
  ready.catch(() => undefined); // a failure is awaited below, not an unhandled rejection meanwhile
  const cleanup = () => {
    releaseContainerNetwork(ctx, rec);
    releaseMounts(ctx, rec.id);
    unmountRootfs(rootfs);
  };
  try {
    const sec = parseSecurityOpts(rec.config.securityOpt);
    const caps = resolveCapabilities({ add: rec.config.capAdd, drop: rec.config.capDrop, privileged: rec.config.privileged });
    const paths = maskedAndReadonlyPaths(sec, rec.config.privileged);
    let seccomp: OciSeccomp | undefined;
    const annotations: Record<string, string> = { ...(rec.config.annotations ?? {}) };
    if (!rec.config.privileged && sec.seccomp !== 'unconfined') {
      const arch = process.arch === 'arm64' ? 'arm64' : 'amd64';
      if (sec.seccomp === 'default') {
        seccomp = defaultSeccompProfile({ arch, capabilities: caps });
      } else {
        const { loadSeccompProfile } = await import('../runtime/seccomp-file');
        seccomp = loadSeccompProfile(sec.seccomp.path, { arch, capabilities: caps });
      }
      if (canPrecompile(seccomp)) {
        annotations[BPF_ANNOTATION] = compiledProfile(seccomp, join(ctx.paths.graphRoot, 'seccomp')).toString('base64');
        // crun loads the program for the container and for every exec into
        // it without linux.seccomp (checked with crun 1.8; run.test.ts
        // shows the profile's denials in both): 15 KB it need not parse.
        seccomp = undefined;
      }
    }

    const etcFiles = [
      { destination: '/etc/hostname', source: join(runDir, 'hostname') },
      { destination: '/etc/hosts', source: join(runDir, 'hosts') },
    ];
    writeFileSync(etcFiles[0].source, rec.config.hostname + '\n');
    writeFileSync(etcFiles[1].source, hostsFile(rec));
    const net = await attachNetworkOf(ctx, rec, runDir);
    etcFiles.push({ destination: '/etc/resolv.conf', source: join(runDir, 'resolv.conf') });
    writeFileSync(etcFiles[2].source, net.resolv);

    await ready;
    trace('mounted');
    const root = new RootFs(rootfs);
    let user;
    let volumeMounts: OciMount[] = [];
    try {
      const userSpec = rec.config.user || (mapping.defaultUser ? `${mapping.defaultUser.uid}:${mapping.defaultUser.gid}` : '');
      user = resolveUserCached(ctx, rec, root, userSpec, join(ctrDir, 'diff'));
      for (const [kind, id] of [['user', user.uid], ['group', user.gid]] as const) {
        if (toSessionId(kind === 'user' ? mapping.uid : mapping.gid, id) === undefined) {
          throw new EngineError(`${kind} ID ${id} is not mapped in the container's user namespace (--userns=${rec.userns.mode})`);
        }
      }
      if (rec.config.workingDir !== '/') root.ensureDir(rec.config.workingDir);
      if (rec.config.mounts?.length) volumeMounts = presentMounts(ctx, rec, root, mapping, user);
    } finally {
      root.close();
    }

    // Written now for the namespaces made here; the rest go in the spec.
    const sysctl = applySysctls(rec, mapping, net.netnsPath);

    const env = [...rec.config.env];
    if (!env.some((e) => e.startsWith('HOME='))) env.push(`HOME=${user.home}`);
    if (!env.some((e) => e.startsWith('HOSTNAME='))) env.push(`HOSTNAME=${rec.config.hostname}`);
    if (!env.some((e) => e.startsWith('container='))) env.push('container=selkie');

    const spec = buildSpec({
      args: rec.config.init ? [INIT_PATH, '--', ...rec.config.args] : rec.config.args,
      env,
      cwd: rec.config.workingDir,
      user,
      terminal: rec.config.tty,
      hostname: rec.config.hostname,
      // Relative to the bundle: crun opens the bundle before it enters the
      // container's namespace, whose root may not be able to walk our paths.
      rootfs: 'rootfs',
      readOnly: rec.config.readOnly,
      uidMap: mapping.uid,
      gidMap: mapping.gid,
      network: rec.config.network,
      netnsPath: net.netnsPath,
      ttyGroup: mapping.gid ? toSessionId(mapping.gid, 5) !== undefined : sessionLayout().size > 5,
      capabilities: caps,
      noNewPrivileges: sec.noNewPrivileges,
      seccomp,
      maskedPaths: paths.masked,
      readonlyPaths: paths.readonly,
      etcFiles,
      annotations,
      extraMounts: [...extraMounts(rec), ...volumeMounts],
      rlimits: rec.config.ulimits?.map(parseUlimit),
      sysctl,
    });
    writeFileSync(join(runDir, 'config.json'), JSON.stringify(spec));
    trace('spec written');
    return { bundle: runDir, rootfs, cleanup };
  } catch (err) {
    await ready.catch(() => undefined); // a mount still under way is undone once it is done
    cleanup();
    throw err;
  }
}

/** The container's network (see network/setup.ts); the host ports it got are recorded. */
async function attachNetworkOf(ctx: EngineContext, rec: ContainerRecord, runDir: string): Promise<NetworkAttachment> {
  if (rec.config.network === 'bridge') {
    const net = await attachContainerNetworks(ctx, rec);
    ctx.containers.update(rec.id, (r) => {
      r.state.networks = net.addresses;
      if (net.ports.length) r.state.ports = net.ports;
    });
    return net;
  }
  let net: NetworkAttachment;
  try {
    net = await attachNetwork(rec, runDir, (ref) => {
      const other = ctx.containers.lookup(ref);
      if (!other || other.state.status !== 'running' || !other.state.pid || !isActive(other)) return undefined;
      return { pid: other.state.pid, runDir: ctx.runDir(other.id) };
    });
  } catch (err) {
    if (err instanceof NetworkSetupError) throw new EngineError(err.message);
    throw err;
  }
  if (net.ports.length) {
    ctx.containers.update(rec.id, (r) => {
      r.state.ports = net.ports;
    });
  }
  return net;
}

/** Where --init puts catatonit in the container (Podman's place for it). */
const INIT_PATH = '/run/podman-init';
const INIT_CANDIDATES = ['/usr/bin/catatonit', '/usr/libexec/catatonit/catatonit', '/usr/libexec/podman/catatonit'];

function extraMounts(rec: ContainerRecord): OciMount[] {
  const out: OciMount[] = [];
  for (const [dest, opts] of Object.entries(rec.config.tmpfs ?? {})) {
    out.push({ destination: dest, type: 'tmpfs', source: 'tmpfs', options: opts ? opts.split(',') : [] });
  }
  for (const spec of rec.config.devices ?? []) {
    // Rootless: device nodes cannot be created, so the host's node is bound in (as Podman).
    const d = parseDevice(spec);
    if (!existsSync(d.host)) throw new EngineError(`--device ${spec}: ${d.host} does not exist`);
    const ro = !d.perms.includes('w');
    out.push({ destination: d.container, type: 'bind', source: d.host, options: ['bind', 'rprivate', 'nosuid', 'noexec', ...(ro ? ['ro'] : [])] });
  }
  if (rec.config.init) {
    const init = INIT_CANDIDATES.find((p) => existsSync(p));
    if (!init) throw new EngineError('--init needs catatonit (install the catatonit package)');
    out.push({ destination: INIT_PATH, type: 'bind', source: init, options: ['bind', 'rprivate', 'ro', 'nosuid', 'nodev'] });
  }
  return out;
}

/** crun's words when exec of the container's command failed. */
const EXEC_ERROR = /executable file|exec|open executable|No such file or directory|Permission denied/i;
/** crun's words when the kernel refused an idmapped mount: mount_setattr `SOURCE`: ... */
const IDMAP_ERROR = /mount_setattr `([^`]*)`: (?:Operation not permitted|Invalid argument)/;

/** What crun reports as a failed start, said clearly where we know the cause: a refused idmap, a command that cannot run. */
export function classifyStartFailure(rootfs: string, rec: ContainerRecord, errors: string[]): EngineError | undefined {
  const idmap = (rec.config.mounts ?? []).some((m) => m.options.includes('idmap')) ? errors.map((e) => IDMAP_ERROR.exec(e)).find(Boolean) : undefined;
  if (idmap) {
    return new EngineError(
      `idmap on ${idmap[1]}: the kernel does not allow a rootless user an idmapped mount of that filesystem (only one mounted inside the user's own namespace, such as a tmpfs there, qualifies); use :U to hand the files to the container's user instead`,
    );
  }
  if (!errors.some((e) => EXEC_ERROR.test(e))) return undefined;
  return commandProblem(rootfs, rec.config.args[0], rec.config.env);
}


function signalNumber(sig: NodeJS.Signals | null): number {
  return sig ? ((osConstants.signals as Record<string, number>)[sig] ?? 0) : 0;
}

/** Marks the container running (under the store lock) unless something of it still runs. */
export function claimStart(ctx: EngineContext, id: string): ContainerRecord {
  const claimed = ctx.containers.update(id, (rec) => {
    if ((rec.state.status === 'running' || rec.state.status === 'stopping') && isActive(rec)) {
      throw new EngineError(`container ${rec.name} is already running`);
    }
    if (rec.state.status === 'removing') throw new EngineError(`container ${rec.name} is being removed`);
    // Until the runtime or conmon takes over, this process is what may still
    // start the container: a cleanup by another process in that window (the
    // previous run's exit command, late; a wait) must see it as alive.
    rec.state = {
      status: 'running',
      startedAt: new Date().toISOString(),
      restartCount: rec.state.restartCount,
      stoppedByUser: false,
      monitorPid: process.pid,
      monitorStart: processStartTime(process.pid),
    };
  });
  if (!claimed) throw new EngineError(`no container with name or ID "${id}" found: no such container`);
  return claimed;
}

interface RuntimeChild {
  pid?: number;
  kill: (sig: NodeJS.Signals) => void;
  exited: Promise<{ code: number; spawnError?: Error }>;
}

/**
 * crun in a session of its own (a terminal's Ctrl-C reaches the container
 * once, through us), with our stdout and stderr.  posix_spawn from the addon
 * unless stdin must be relayed from a terminal: it saves copying this
 * process's page tables (a few ms of every `run --rm`).
 */
function startRuntime(args: string[], interactive: boolean): RuntimeChild {
  if (interactive) {
    const child = spawn(runtimeBinary(), args, { stdio: [process.stdin.isTTY ? 'pipe' : 'inherit', 'inherit', 'inherit'], detached: true });
    if (process.stdin.isTTY && child.stdin) process.stdin.pipe(child.stdin);
    return {
      pid: child.pid,
      kill: (sig) => {
        try {
          child.kill(sig);
        } catch {
          /* already gone */
        }
      },
      exited: new Promise((resolve) => {
        child.on('error', (err) => resolve({ code: 125, spawnError: err }));
        child.on('exit', (code, sig) => {
          if (process.stdin.isTTY) process.stdin.unpipe();
          resolve({ code: code ?? 128 + signalNumber(sig) });
        });
      }),
    };
  }
  const devNull = openSync('/dev/null', 'r');
  let pid: number;
  let exitFd: number;
  try {
    const bin = runtimeBinary();
    [pid, exitFd] = native().spawnProcess(bin, [bin, ...args], [devNull, 1, 2], true);
  } catch (err) {
    return { kill: () => undefined, exited: Promise.resolve({ code: 125, spawnError: err as Error }) };
  } finally {
    closeSync(devNull);
  }
  // The pipe's other end lives only in crun: end-of-file is its exit.  Read
  // in libuv's thread pool (a net.Socket would load net and the streams).
  const untilEof = (done: () => void) => {
    read(exitFd, Buffer.alloc(1), 0, 1, null, (err, n) => {
      if (!err && n > 0) untilEof(done);
      else done();
    });
  };
  return {
    pid,
    kill: (sig) => {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    },
    exited: new Promise((resolve) =>
      untilEof(() => {
        closeSync(exitFd);
        resolve({ code: native().waitProcess(pid) });
      }),
    ),
  };
}

/**
 * Starts the container with its stdio attached to ours and resolves with its
 * exit code once it ends.  The runtime runs in its own process group, so a
 * terminal's Ctrl-C reaches the container once (forwarded by us and by crun).
 */
export async function startAttached(ctx: EngineContext, id: string, opts: { removeAfter?: boolean } = {}): Promise<number> {
  const rec = claimStart(ctx, id);
  const finish = (exitCode: number, error?: string) => {
    // A container removed right afterwards (--rm) needs no record of its exit.
    if (opts.removeAfter) return;
    recordExit(ctx, id, { exitCode, error });
  };

  let prepared: Prepared;
  try {
    prepared = await prepare(ctx, rec);
  } catch (err) {
    const code = err instanceof EngineError ? err.exitCode : 125;
    finish(code, (err as Error).message);
    throw err;
  }

  const runDir = ctx.runDir(id);
  const log = join(runDir, 'crun.log');
  try {
    unlinkSync(log); // (rmSync would load its rimraf module for this)
  } catch {
    /* none yet */
  }
  const child = startRuntime(runArgs(ctx.runtimeRoot, prepared.bundle, id, join(runDir, 'pidfile'), log), rec.config.interactive);
  for (const s of FORWARDED) process.on(s, child.kill);

  trace('runtime spawned');
  recordContainerEvent(ctx, 'start', rec);
  if (child.pid !== undefined) {
    ctx.containers.update(id, (r) => {
      r.state.monitorPid = child.pid;
      r.state.monitorStart = processStartTime(child.pid!);
      r.state.mounted = true;
    });
  }
  const exit = await child.exited;
  for (const s of FORWARDED) process.off(s, child.kill);

  trace('runtime exited');
  const errors = exit.code !== 0 ? runtimeErrors(log) : [];
  // Only when the runtime failed: was it the command?  Answered while the
  // rootfs is still mounted, to give Podman's 126/127 and a clear message.
  const execFailure = errors.length ? classifyStartFailure(prepared.rootfs, rec, errors) : undefined;
  prepared.cleanup();
  trace('unmounted');
  if (exit.spawnError) {
    finish(125, exit.spawnError.message);
    throw new EngineError(`cannot run the OCI runtime ${RUNTIME}: ${exit.spawnError.message}`);
  }
  if (execFailure) {
    finish(execFailure.exitCode, execFailure.message);
    throw execFailure;
  }
  if (errors.length) {
    finish(125, errors.join('; '));
    throw new EngineError(`crun: ${errors.join('; ')}: OCI runtime error`);
  }
  finish(exit.code);
  recordContainerEvent(ctx, 'died', rec, { containerExitCode: exit.code });
  return exit.code;
}
