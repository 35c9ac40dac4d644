// selkie's command line: argv -> typed options -> one engine call -> output.
// Commands load their engine modules only when they run, to keep start-up
// short for `selkie run`.
import { ExitError, errorExitCode } from './errors';
import { formatHelp, parseArgs, UsageError, type OptionSpec } from './parse';
import { bool, engine, FORMAT, FORMAT_F, needSession, print, str, type CommandDef, type Globals, type GroupTable, type Opts } from './command';
import * as commitDefs from './defs/commit';
import * as cpDefs from './defs/cp';
import * as lifecycleDefs from './defs/lifecycle';
import * as logsDefs from './defs/logs';
import * as networkDefs from './defs/network';
import * as volumeDefs from './defs/volume';
import { trace } from '../trace';
import { VERSION } from './version';
import { exitWith } from './exit';

const REGISTRY_OPTIONS: OptionSpec[] = [
  { long: 'tls-verify', type: 'string', help: 'require HTTPS and verify certificates (true or false)', key: 'tlsVerify' },
  str('authfile', undefined, 'path of the authentication file'),
  str('creds', undefined, 'credentials USERNAME[:PASSWORD] for the registry'),
];
const PLATFORM_OPTIONS: OptionSpec[] = [
  str('platform', undefined, 'image platform OS/ARCH[/VARIANT]'),
  str('os', undefined, 'image operating system'),
  str('arch', undefined, 'image architecture'),
  str('variant', undefined, 'image architecture variant'),
];

const RUN_OPTIONS: OptionSpec[] = [
  str('env', 'e', 'set environment variables', true),
  str('env-file', undefined, 'read environment variables from a file', true),
  str('workdir', 'w', 'working directory inside the container'),
  str('user', 'u', 'user[:group] to run as (name or ID)'),
  str('entrypoint', undefined, 'override the image ENTRYPOINT (a string or a JSON array)'),
  str('name', undefined, 'name the container'),
  str('hostname', 'h', 'container host name'),
  str('userns', undefined, 'user namespace: private (default: its own ID block), auto, host, keep-id, nomap'),
  str('network', undefined, 'network: pasta[:OPTIONS] (default), slirp4netns[:OPTIONS], none, host, container:NAME, bridge, or networks by name (repeatable)', true),
  str('network-alias', undefined, 'another name for the container on its bridge networks', true),
  str('ip', undefined, 'the container\'s IPv4 address on its (one) bridge network'),
  str('publish', 'p', 'publish a port: [[HOSTIP:][HOSTPORT]:]CONTAINERPORT[/PROTOCOL]', true),
  bool('publish-all', 'P', 'publish every exposed port to a random host port'),
  str('expose', undefined, 'expose a port or range: PORT[-PORT][/PROTOCOL]', true),
  str('dns', undefined, 'DNS server for /etc/resolv.conf', true),
  str('dns-search', undefined, 'DNS search domain for /etc/resolv.conf', true),
  str('dns-option', undefined, 'DNS option for /etc/resolv.conf', true),
  { ...str('net', undefined, 'network mode', true), key: 'network', hidden: true },
  bool('read-only', undefined, 'mount the root filesystem read-only'),
  str('cap-add', undefined, 'add capabilities', true),
  str('cap-drop', undefined, 'drop capabilities', true),
  bool('privileged', undefined, 'give extended privileges'),
  str('security-opt', undefined, 'security options', true),
  str('label', 'l', 'set metadata on the container', true),
  bool('rm', undefined, 'remove the container when it exits'),
  bool('interactive', 'i', 'keep STDIN open'),
  bool('tty', 't', 'allocate a pseudo-TTY'),
  bool('detach', 'd', 'run in the background'),
  str('detach-keys', undefined, 'key sequence for detaching (default "ctrl-p,ctrl-q")'),
  str('pull', undefined, 'pull policy: missing (default), always, never, newer'),
  str('log-driver', undefined, 'logging driver: k8s-file (default) or none'),
  str('log-opt', undefined, 'logging driver options: max-size=SIZE, path=FILE, tag=TAG', true),
  str('restart', undefined, 'restart policy: no, on-failure[:N], always, unless-stopped'),
  str('stop-signal', undefined, 'signal that stops the container (default SIGTERM)'),
  str('stop-timeout', undefined, 'seconds to wait for stop before killing the container'),
  bool('init', undefined, 'run an init (catatonit) as PID 1 that forwards signals and reaps zombies'),
  str('health-cmd', undefined, 'command to check the container\'s health'),
  str('health-interval', undefined, 'time between health checks (default 30s)'),
  str('health-timeout', undefined, 'time a health check may take (default 30s)'),
  str('health-start-period', undefined, 'time before failed checks count (default 0s)'),
  str('health-retries', undefined, 'failures before unhealthy (default 3)'),
  bool('no-healthcheck', undefined, 'disable the image\'s healthcheck'),
  str('annotation', undefined, 'add an annotation to the container', true),
  str('tmpfs', undefined, 'mount a tmpfs: PATH[:OPTIONS]', true),
  str('volume', 'v', 'bind mount or volume: [SOURCE:]DEST[:OPTIONS] (ro, rw, U, z, Z, nocopy, propagation)', true),
  str('mount', undefined, 'attach a mount: type=bind|volume|tmpfs,src=...,dst=...[,ro][,...]', true),
  str('add-host', undefined, 'add a host-to-IP entry to /etc/hosts: HOST:IP', true),
  str('device', undefined, 'add a host device: HOST[:CONTAINER][:PERMISSIONS]', true),
  str('ulimit', undefined, 'resource limit: NAME=SOFT[:HARD]', true),
  str('sysctl', undefined, 'a namespaced kernel parameter: NAME=VALUE (net.*, fs.mqueue.*, kernel.msg*, kernel.sem, kernel.shm*)', true),
  str('memory', 'm', 'memory limit (needs cgroup v2 delegation)'),
  str('cpus', undefined, 'number of CPUs (needs cgroup v2 delegation)'),
  str('pids-limit', undefined, 'process limit (needs cgroup v2 delegation)'),
  ...REGISTRY_OPTIONS,
  ...PLATFORM_OPTIONS,
];

/**
 * Pulls the image of run/create when the pull policy says so (nothing is
 * loaded when it is present); returns how to refer to it in the store (a
 * transport reference like oci:DIR:tag becomes the pulled image's ID).
 */
async function imageFor(ctx: import('../engine/context').EngineContext, image: string, o: Opts): Promise<string> {
  if (o.pull === undefined || o.pull === 'missing') {
    if (ctx.images.lookup(image)) return image;
  }
  const { ensureImage } = await import('./commands/registry');
  return ensureImage(ctx, image, o.pull, o);
}

function createOptions(image: string, command: string[], o: Opts) {
  return {
    image,
    command,
    entrypoint: o.entrypoint as string | undefined,
    env: o.env,
    envFiles: o.envFile,
    workdir: o.workdir,
    user: o.user,
    name: o.name,
    hostname: o.hostname,
    userns: o.userns,
    network: o.network,
    networkAlias: o.networkAlias,
    ip: o.ip,
    publish: o.publish,
    publishAll: !!o.publishAll,
    expose: o.expose,
    dns: o.dns,
    dnsSearch: o.dnsSearch,
    dnsOption: o.dnsOption,
    readOnly: !!o.readOnly,
    capAdd: o.capAdd,
    capDrop: o.capDrop,
    privileged: !!o.privileged,
    securityOpt: o.securityOpt,
    rm: !!o.rm,
    interactive: !!o.interactive,
    tty: !!o.tty,
    labels: o.label,
    logDriver: o.logDriver,
    logOpts: o.logOpt,
    restart: o.restart,
    stopSignal: o.stopSignal,
    stopTimeout: o.stopTimeout,
    init: !!o.init,
    health: {
      cmd: o.healthCmd,
      interval: o.healthInterval,
      timeout: o.healthTimeout,
      startPeriod: o.healthStartPeriod,
      retries: o.healthRetries,
      noHealthcheck: !!o.noHealthcheck,
    },
    annotations: o.annotation,
    tmpfs: o.tmpfs,
    volumes: o.volume,
    mounts: o.mount,
    addHosts: o.addHost,
    devices: o.device,
    ulimits: o.ulimit,
    sysctls: o.sysctl,
    memory: o.memory,
    cpus: o.cpus,
    pidsLimit: o.pidsLimit,
  };
}

const COMMANDS: CommandDef[] = [
  {
    name: 'run',
    usage: 'selkie run [options] IMAGE [COMMAND [ARG...]]',
    description: 'Run a command in a new container',
    options: RUN_OPTIONS,
    stopAtPositional: true,
    minArgs: 1,
    session: true,
    async run(g, o, [image, ...command]) {
      const ctx = await engine(g);
      const ref = await imageFor(ctx, image, o);
      const opts = createOptions(ref, command, o);
      // --rm in the foreground without a terminal: crun alone, the fast path.
      // Everything else is held by conmon (logs, attach, detach, restarts).
      if (opts.rm && !opts.tty && !o.detach) {
        const { runContainer } = await import('./commands/containers');
        return runContainer(ctx, opts);
      }
      const { runMonitored } = await import('./commands/lifecycle');
      return runMonitored(ctx, { ...opts, detach: !!o.detach, detachKeys: o.detachKeys });
    },
  },
  {
    name: 'create',
    usage: 'selkie create [options] IMAGE [COMMAND [ARG...]]',
    description: 'Create a container without starting it',
    options: RUN_OPTIONS,
    stopAtPositional: true,
    minArgs: 1,
    session: true,
    async run(g, o, [image, ...command]) {
      const ctx = await engine(g);
      const ref = await imageFor(ctx, image, o);
      const { createContainer } = await import('../engine/create');
      print(createContainer(ctx, createOptions(ref, command, o)).id);
    },
  },
  {
    name: 'start',
    usage: 'selkie start [options] CONTAINER [CONTAINER...]',
    description: 'Start containers',
    options: [
      bool('attach', 'a', 'attach to the output and wait for the container'),
      bool('interactive', 'i', 'attach standard input'),
      str('detach-keys', undefined, 'key sequence for detaching (default "ctrl-p,ctrl-q")'),
    ],
    minArgs: 1,
    session: true,
    async run(g, o, refs) {
      const ctx = await engine(g);
      const { startRefs } = await import('./commands/lifecycle');
      return startRefs(ctx, refs, { attach: !!o.attach, interactive: !!o.interactive, detachKeys: o.detachKeys });
    },
  },
  {
    name: 'ps',
    usage: 'selkie ps [options]',
    description: 'List containers',
    options: [
      bool('all', 'a', 'show all containers, not only running ones'),
      bool('quiet', 'q', 'print only the container IDs'),
      FORMAT,
      bool('no-trunc', undefined, 'do not truncate output'),
      bool('noheading', 'n', 'do not print column headings'),
      bool('latest', 'l', 'the latest container only'),
      str('filter', 'f', 'filter output: id, name, status, label, ancestor, exited, health, until', true),
    ],
    maxArgs: 0,
    async run(g, o) {
      const ctx = await engine(g);
      const { listContainers } = await import('./commands/containers');
      print(listContainers(ctx, { all: !!o.all, quiet: !!o.quiet, format: o.format, trunc: !o.noTrunc, noheading: !!o.noheading, latest: !!o.latest, filter: o.filter }));
    },
  },
  {
    name: 'rm',
    usage: 'selkie rm [options] CONTAINER [CONTAINER...]',
    description: 'Remove containers',
    options: [
      bool('all', 'a', 'remove all containers'),
      bool('force', 'f', 'stop running containers first'),
      bool('ignore', 'i', 'ignore containers that do not exist'),
      bool('volumes', 'v', 'remove the anonymous volumes of the containers'),
      { ...lifecycleDefs.TIME, help: 'with --force: seconds to wait for a running container to stop before killing it' },
    ],
    session: true,
    async run(g, o, refs) {
      const time = lifecycleDefs.seconds(o.time);
      const ctx = await engine(g);
      const { removeContainers } = await import('./commands/containers');
      await removeContainers(ctx, refs, { all: !!o.all, force: !!o.force, ignore: !!o.ignore, volumes: !!o.volumes, time });
    },
  },
  {
    name: 'inspect',
    usage: 'selkie inspect [options] NAME [NAME...]',
    description: 'Show details of containers or images',
    options: [FORMAT_F, str('type', 't', 'what to inspect: all, container or image')],
    minArgs: 1,
    async run(g, o, refs) {
      const type = o.type ?? 'all';
      if (!['all', 'container', 'image'].includes(type)) throw new UsageError(`invalid type "${type}": must be all, container or image`);
      const ctx = await engine(g);
      const { inspect } = await import('./commands/inspect');
      await inspect(ctx, refs, { format: o.format, type });
    },
  },
  {
    name: 'load',
    usage: 'selkie load [options]',
    description: 'Load images from a docker-archive or oci-archive tarball',
    options: [str('input', 'i', 'read from a file instead of standard input'), bool('quiet', 'q', 'print only the loaded names')],
    maxArgs: 0,
    session: true,
    async run(g, o) {
      const ctx = await engine(g);
      const { loadImages } = await import('../engine/images');
      let input = o.input as string | undefined;
      if (!input) {
        if (process.stdin.isTTY) throw new ExitError(125, 'Error: cannot read from terminal, use command-line redirection or the --input flag');
        input = '/dev/stdin';
      }
      for (const n of await loadImages(ctx, input)) print(`Loaded image: ${n}`);
    },
  },
  {
    name: 'import',
    usage: 'selkie import [options] PATH|- [REFERENCE]',
    description: 'Import a tarball of a root filesystem as an image',
    options: [
      str('message', 'm', 'commit message for the imported image'),
      str('change', 'c', 'apply a Dockerfile instruction (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR)', true),
      bool('quiet', 'q', 'suppress output'),
    ],
    minArgs: 1,
    maxArgs: 2,
    session: true,
    async run(g, o, [source, reference]) {
      const ctx = await engine(g);
      const { importImage } = await import('../engine/images');
      const { parseChanges } = await import('../engine/changes');
      const rec = await importImage(ctx, source === '-' ? process.stdin : source, reference, { message: o.message, changes: parseChanges(o.change) });
      print(rec.id);
    },
  },
  {
    name: 'images',
    usage: 'selkie images [options]',
    description: 'List images in local storage',
    options: [
      bool('all', 'a', 'show all images'),
      bool('quiet', 'q', 'show only image IDs'),
      FORMAT,
      bool('no-trunc', undefined, 'do not truncate output'),
      bool('noheading', 'n', 'do not print column headings'),
      bool('digests', undefined, 'show digests'),
    ],
    maxArgs: 0,
    async run(g, o) {
      const ctx = await engine(g);
      const { listImages } = await import('./commands/images');
      print(listImages(ctx, { quiet: !!o.quiet, format: o.format, trunc: !o.noTrunc, noheading: !!o.noheading, digests: !!o.digests }));
    },
  },
  {
    name: 'rmi',
    usage: 'selkie rmi [options] IMAGE [IMAGE...]',
    description: 'Remove images',
    options: [bool('all', 'a', 'remove all images'), bool('force', 'f', 'remove the containers using the images too')],
    session: true,
    async run(g, o, refs) {
      const ctx = await engine(g);
      const { removeImages } = await import('./commands/images');
      await removeImages(ctx, refs, { all: !!o.all, force: !!o.force });
    },
  },
  {
    name: 'tag',
    usage: 'selkie tag IMAGE TARGET_NAME [TARGET_NAME...]',
    description: 'Add names to an image',
    options: [],
    minArgs: 2,
    async run(g, _o, [image, ...names]) {
      const ctx = await engine(g);
      const { tagImage } = await import('../engine/images');
      tagImage(ctx, image, names);
    },
  },
  {
    name: 'pull',
    usage: 'selkie pull [options] IMAGE [IMAGE...]',
    description: 'Pull images from a registry or another transport',
    options: [...REGISTRY_OPTIONS, ...PLATFORM_OPTIONS, bool('quiet', 'q', 'print only the image ID'), bool('all-tags', 'a', 'all tags (not supported)')],
    minArgs: 1,
    session: true,
    async run(g, o, refs) {
      if (o.allTags) throw new UsageError('--all-tags is not supported yet');
      const ctx = await engine(g);
      const { pull } = await import('./commands/registry');
      await pull(ctx, refs, o);
    },
  },
  {
    name: 'push',
    usage: 'selkie push [options] IMAGE [DESTINATION]',
    description: 'Push an image to a registry or another transport',
    options: [...REGISTRY_OPTIONS, bool('quiet', 'q', 'print nothing'), str('digestfile', undefined, 'write the pushed manifest digest to this file')],
    minArgs: 1,
    maxArgs: 2,
    session: true,
    async run(g, o, args) {
      const ctx = await engine(g);
      const { push } = await import('./commands/registry');
      await push(ctx, args, o);
    },
  },
  {
    name: 'login',
    usage: 'selkie login [options] REGISTRY',
    description: 'Log in to a registry',
    options: [
      str('username', 'u', 'user name'),
      str('password', 'p', 'password'),
      bool('password-stdin', undefined, 'read the password from standard input'),
      bool('get-login', undefined, 'print the user name logged in with'),
      ...REGISTRY_OPTIONS.filter((x) => x.long !== 'creds'),
    ],
    minArgs: 1,
    maxArgs: 1,
    async run(_g, o, [registry]) {
      const { login } = await import('./commands/registry');
      await login(registry, o);
    },
  },
  {
    name: 'logout',
    usage: 'selkie logout [options] REGISTRY',
    description: 'Remove the credentials stored for a registry',
    options: [bool('all', 'a', 'remove all credentials'), str('authfile', undefined, 'path of the authentication file')],
    maxArgs: 1,
    async run(_g, o, [registry]) {
      const { logout } = await import('./commands/registry');
      await logout(registry, o);
    },
  },
  {
    name: 'save',
    usage: 'selkie save [options] IMAGE [IMAGE...]',
    description: 'Save images to an archive or directory',
    options: [
      str('output', 'o', 'write to this file (or directory for oci-dir and docker-dir)'),
      str('format', undefined, 'docker-archive (default), oci-archive, oci-dir or docker-dir'),
      bool('multi-image-archive', 'm', 'save several images in one archive'),
      bool('quiet', 'q', 'print nothing'),
    ],
    minArgs: 1,
    async run(g, o, refs) {
      const ctx = await engine(g);
      const { save } = await import('./commands/registry');
      await save(ctx, refs, o);
    },
  },
  {
    name: '__manifest-inspect',
    usage: 'selkie manifest inspect IMAGE',
    description: "Show an image's manifest (or manifest list) in a registry",
    options: REGISTRY_OPTIONS,
    minArgs: 1,
    maxArgs: 1,
    hidden: true,
    async run(_g, o, [ref]) {
      const { manifestInspect } = await import('./commands/registry');
      await manifestInspect(ref, o);
    },
  },
  {
    name: '__image-history',
    usage: 'selkie image history [options] IMAGE',
    description: 'Show the history of an image',
    options: [FORMAT, bool('no-trunc', undefined, 'do not truncate output'), bool('quiet', 'q', 'print only the IDs'), bool('human', 'H', 'human-readable sizes and dates (default true)')],
    minArgs: 1,
    maxArgs: 1,
    hidden: true,
    async run(g, o, [ref]) {
      const ctx = await engine(g);
      const { history } = await import('./commands/images');
      print(history(ctx, ref, { format: o.format, trunc: !o.noTrunc, quiet: !!o.quiet }));
    },
  },
  {
    name: '__image-prune',
    usage: 'selkie image prune [options]',
    description: 'Remove unused images: dangling ones, or with -a every image no container uses',
    options: [bool('all', 'a', 'remove all unused images'), bool('force', 'f', 'do not ask for confirmation')],
    maxArgs: 0,
    hidden: true,
    session: true,
    async run(g, o) {
      const ctx = await engine(g);
      const { prune } = await import('./commands/images');
      print(prune(ctx, !!o.all));
    },
  },
  {
    name: 'info',
    usage: 'selkie info [options]',
    description: 'Show information about the host, the session namespace and storage',
    options: [FORMAT_F],
    maxArgs: 0,
    async run(g, o) {
      const ctx = await engine(g);
      const { showInfo } = await import('./commands/system');
      print(await showInfo(ctx, o.format));
    },
  },
  {
    name: 'version',
    usage: 'selkie version [options]',
    description: 'Show version information',
    options: [FORMAT_F],
    maxArgs: 0,
    async run(_g, o) {
      const { showVersion } = await import('./commands/system');
      print(showVersion(VERSION, o.format));
    },
  },
];

/** `selkie image X` and `selkie container X`: the same commands under Podman's group names. */
const GROUPS: GroupTable = {
  image: {
    ls: { command: 'images' },
    list: { command: 'images' },
    rm: { command: 'rmi' },
    inspect: { command: 'inspect', extra: ['--type', 'image'] },
    tag: { command: 'tag' },
    load: { command: 'load' },
    import: { command: 'import' },
    exists: { command: '__image-exists' },
    pull: { command: 'pull' },
    push: { command: 'push' },
    save: { command: 'save' },
    history: { command: '__image-history' },
    prune: { command: '__image-prune' },
  },
  manifest: {
    inspect: { command: '__manifest-inspect' },
  },
  container: {
    ls: { command: 'ps' },
    list: { command: 'ps' },
    rm: { command: 'rm' },
    inspect: { command: 'inspect', extra: ['--type', 'container'] },
    run: { command: 'run' },
    create: { command: 'create' },
    start: { command: 'start' },
    exists: { command: '__container-exists' },
  },
};

for (const area of [lifecycleDefs, logsDefs, cpDefs, commitDefs, volumeDefs, networkDefs]) {
  COMMANDS.push(...area.commands);
  for (const [group, subs] of Object.entries(area.groups)) GROUPS[group] = { ...GROUPS[group], ...subs };
}

COMMANDS.push(
  {
    name: '__image-exists',
    usage: 'selkie image exists IMAGE',
    description: 'Exit 0 if the image is in local storage, 1 if not',
    options: [],
    minArgs: 1,
    maxArgs: 1,
    hidden: true,
    async run(g, _o, [ref]) {
      const ctx = await engine(g);
      const { imageExists } = await import('../engine/images');
      return imageExists(ctx, ref) ? 0 : 1;
    },
  },
  {
    name: '__container-exists',
    usage: 'selkie container exists CONTAINER',
    description: 'Exit 0 if the container exists, 1 if not',
    options: [],
    minArgs: 1,
    maxArgs: 1,
    hidden: true,
    async run(g, _o, [ref]) {
      const ctx = await engine(g);
      return ctx.containers.lookup(ref) ? 0 : 1;
    },
  },
);

function topHelp(): string {
  const rows = COMMANDS.filter((c) => !c.hidden).map((c) => `  ${c.name.padEnd(10)} ${c.description}`);
  const groups = Object.entries(GROUPS).map(([g, subs]) => `  ${g.padEnd(10)} ${Object.keys(subs).join(', ')}`);
  return [
    'selkie: a daemonless, rootless container engine; every container in a user namespace of its own',
    '',
    'Usage:',
    '  selkie [options] COMMAND [ARG...]',
    '',
    'Commands:',
    ...rows,
    ...groups,
    '',
    'Options:',
    '      --root string      storage root directory',
    '      --runroot string   storage state directory',
    '  -v, --version          print the version',
    '',
  ].join('\n');
}

/** Build time only: load what `run` and the listing commands use, for V8's code cache (scripts/boot.cjs). */
async function warmCache(): Promise<void> {
  await Promise.all([
    import('../engine/context'),
    import('../engine/create'),
    import('../engine/start'),
    import('../engine/remove'),
    import('../engine/images'),
    import('../userns/session'),
    import('./commands/containers'),
    import('./commands/images'),
    import('./commands/inspect'),
    // the extra bundle (scripts/build.mjs): registries, archives, zod, undici
    import('./commands/registry'),
    import('../engine/pull'),
    import('../engine/push'),
    import('../image/archive'),
    import('../storage/layer-apply'),
  ]);
}

async function dispatch(argv: string[]): Promise<number> {
  const g: Globals = {};
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    const m = /^--(root|runroot)(?:=(.*))?$/.exec(a);
    if (m) {
      const value = m[2] ?? argv[++i];
      if (value === undefined) throw new UsageError(`flag needs an argument: --${m[1]}`);
      g[m[1] as keyof Globals] = value;
    } else if (a === '-v' || a === '--version') {
      print(`selkie version ${VERSION}`);
      return 0;
    } else if (a === '--help' || a === '-h' || a === 'help') {
      process.stdout.write(topHelp());
      return 0;
    } else if (a.startsWith('-')) {
      throw new UsageError(`unknown flag: ${a.split('=')[0]}`);
    } else break;
  }
  let name = argv[i];
  let rest = argv.slice(i + 1);
  if (name === undefined) {
    process.stdout.write(topHelp());
    throw new ExitError(125, 'Error: missing command \'selkie COMMAND\'');
  }
  if (name === '__warm-cache') {
    await warmCache();
    return 0;
  }
  if (GROUPS[name]) {
    const sub = rest[0];
    const target = sub !== undefined ? GROUPS[name][sub] : undefined;
    if (!target) {
      if (sub === undefined || sub === '--help' || sub === '-h') {
        print(`Usage: selkie ${name} COMMAND\n\nCommands: ${Object.keys(GROUPS[name]).join(', ')}`);
        return sub === undefined ? 125 : 0;
      }
      throw new UsageError(`unrecognized command \`selkie ${name} ${sub}\``);
    }
    name = target.command;
    rest = [...(target.extra ?? []), ...rest.slice(1)];
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) throw new UsageError(`unrecognized command \`selkie ${name}\`\nTry 'selkie --help' for more information`);
  if (rest.includes('--help')) {
    const helpAt = rest.indexOf('--help');
    // For run/create, --help after the image belongs to the container's command.
    const parsedUpTo = cmd.stopAtPositional ? parseArgs(rest.slice(0, helpAt), cmd.options, true).args.length === 0 : true;
    if (parsedUpTo) {
      process.stdout.write(formatHelp(cmd.usage, cmd.description, cmd.options));
      return 0;
    }
  }
  const parsed = parseArgs(rest, cmd.options, cmd.stopAtPositional);
  const n = parsed.args.length;
  if (cmd.minArgs !== undefined && n < cmd.minArgs) {
    throw new UsageError(`requires at least ${cmd.minArgs} arg(s), only received ${n}`);
  }
  if (cmd.maxArgs !== undefined && n > cmd.maxArgs) {
    throw new UsageError(cmd.maxArgs === 0 ? `\`selkie ${cmd.name}\` takes no arguments` : `accepts at most ${cmd.maxArgs} arg(s), received ${n}`);
  }
  trace('parsed');
  if (cmd.session) await needSession();
  return (await cmd.run(g, parsed.options, parsed.args)) ?? 0;
}

export async function main(argv: string[]): Promise<number> {
  trace('main');
  try {
    return await dispatch(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`Error: ${err.message}\n`);
      return 125;
    }
    if (err instanceof ExitError) {
      if (err.message) process.stderr.write(err.message.endsWith('\n') ? err.message : err.message + '\n');
      return err.exitCode;
    }
    process.stderr.write(`Error: ${(err as Error).message ?? String(err)}\n`);
    if (process.env.SELKIE_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
    return errorExitCode(err);
  }
}

main(process.argv.slice(2)).then(exitWith, (err) => {
  process.stderr.write(`Error: ${String(err)}\n`);
  process.exitCode = 125;
});
