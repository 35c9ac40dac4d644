// selkie's command line: argv -> typed options -> one engine call -> output.
// Commands load their engine modules only when they run, to keep start-up
// short for `selkie run`.
import { Command, CommanderError, Option } from 'commander';
import { ExitError, errorExitCode } from './errors';
import { collect, globals } from './options';

import { VERSION } from './version';

/** Commands that change storage run inside the session namespace. */
async function needSession(): Promise<void> {
  const { inSession, createSession, reexecInSession } = await import('../userns/session');
  if (inSession()) return;
  createSession((msg) => process.stderr.write(`WARN[0000] ${msg}\n`));
  throw new ExitError(await reexecInSession());
}

async function engine(cmd: Command) {
  const { EngineContext } = await import('../engine/context');
  const g = globals(cmd);
  return new EngineContext({ graphRoot: g.root, runRoot: g.runroot });
}

function print(text: string): void {
  if (text) process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}

function addRunFlags(cmd: Command): Command {
  return cmd
    .option('-e, --env <env>', 'set environment variables', collect, [])
    .option('--env-file <file>', 'read environment variables from a file', collect, [])
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-u, --user <user>', 'user[:group] to run as')
    .option('--entrypoint <cmd>', 'override the image ENTRYPOINT (a string or a JSON array)')
    .option('--name <name>', 'name the container')
    .option('-h, --hostname <name>', 'container host name')
    .option('--userns <mode>', 'user namespace: private (default), auto, host, keep-id, nomap')
    .addOption(new Option('--network <mode>', 'network: none (default) or host'))
    .addOption(new Option('--net <mode>').hideHelp())
    .option('--read-only', 'mount the root filesystem read-only', false)
    .option('--cap-add <cap>', 'add a capability', collect, [])
    .option('--cap-drop <cap>', 'drop a capability', collect, [])
    .option('--privileged', 'give extended privileges', false)
    .option('--security-opt <opt>', 'security options', collect, [])
    .option('-l, --label <label>', 'set metadata', collect, [])
    .option('--rm', 'remove the container when it exits', false)
    .option('-i, --interactive', 'keep STDIN open', false)
    .option('-t, --tty', 'allocate a pseudo-TTY', false)
    .option('-d, --detach', 'run in the background', false)
    .argument('<image>')
    .argument('[command...]')
    .passThroughOptions();
}

type RunFlags = Record<string, unknown> & { env: string[]; envFile: string[]; capAdd: string[]; capDrop: string[]; securityOpt: string[]; label: string[] };

function createOptions(image: string, command: string[], o: RunFlags) {
  return {
    image,
    command,
    entrypoint: o.entrypoint as string | undefined,
    env: o.env,
    envFiles: o.envFile,
    workdir: o.workdir as string | undefined,
    user: o.user as string | undefined,
    name: o.name as string | undefined,
    hostname: o.hostname as string | undefined,
    userns: o.userns as string | undefined,
    network: (o.network ?? o.net) as string | undefined,
    readOnly: !!o.readOnly,
    capAdd: o.capAdd,
    capDrop: o.capDrop,
    privileged: !!o.privileged,
    securityOpt: o.securityOpt,
    rm: !!o.rm,
    interactive: !!o.interactive,
    tty: !!o.tty,
    labels: o.label,
  };
}

function buildProgram(): Command {
  const program = new Command('selkie')
    .description('A daemonless, rootless container engine: every container in a user namespace of its own')
    .version(`selkie version ${VERSION}`, '-v, --version', 'print the version')
    .option('--root <dir>', 'storage root directory')
    .option('--runroot <dir>', 'storage state directory')
    .enablePositionalOptions()
    .showSuggestionAfterError(false);

  // ---- images -------------------------------------------------------------
  program
    .command('load')
    .description('load images from a docker-archive or oci-archive tarball')
    .option('-i, --input <file>', 'read from a file instead of standard input')
    .option('-q, --quiet', 'print only the loaded names', false)
    .action(async (o, cmd) => {
      await needSession();
      const ctx = await engine(cmd);
      const { loadImages } = await import('../engine/images');
      let input = o.input as string | undefined;
      if (!input) {
        if (process.stdin.isTTY) throw new ExitError(125, 'Error: cannot read from terminal, use command-line redirection or the --input flag');
        input = '/dev/stdin';
      }
      const names = await loadImages(ctx, input);
      for (const n of names) print(`Loaded image: ${n}`);
    });

  program
    .command('import')
    .description('import a tarball of a root filesystem as an image')
    .argument('<source>', 'tarball path, or - for standard input')
    .argument('[reference]')
    .option('-m, --message <text>', 'commit message for the imported image')
    .option('-c, --change <instruction>', 'apply a Dockerfile instruction (CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE)', collect, [])
    .option('-q, --quiet', 'suppress output', false)
    .action(async (source: string, reference: string | undefined, o, cmd) => {
      await needSession();
      const ctx = await engine(cmd);
      const { importImage } = await import('../engine/images');
      const { parseChanges } = await import('../engine/changes');
      const rec = await importImage(ctx, source === '-' ? process.stdin : source, reference, {
        message: o.message,
        changes: parseChanges(o.change),
      });
      print(rec.id);
    });

  const imagesCmd = (name: string) =>
    program
      .command(name)
      .description('list images in local storage')
      .option('-a, --all', 'show all images', false)
      .option('-q, --quiet', 'show only image IDs', false)
      .option('--format <template>', 'pretty-print with a Go template, or json')
      .option('--no-trunc', 'do not truncate output')
      .option('-n, --noheading', 'do not print column headings', false)
      .option('--digests', 'show digests', false)
      .action(async (o, cmd) => {
        const ctx = await engine(cmd);
        const { listImages } = await import('./commands/images');
        print(listImages(ctx, o));
      });
  imagesCmd('images');

  program
    .command('rmi')
    .description('remove images')
    .argument('[images...]')
    .option('-a, --all', 'remove all images', false)
    .option('-f, --force', 'remove containers using the images too', false)
    .action(async (refs: string[], o, cmd) => {
      await needSession();
      const ctx = await engine(cmd);
      const { removeImages } = await import('./commands/images');
      await removeImages(ctx, refs, o);
    });

  program
    .command('tag')
    .description('add names to an image')
    .argument('<image>')
    .argument('<names...>')
    .action(async (image: string, names: string[], _o, cmd) => {
      const ctx = await engine(cmd);
      const { tagImage } = await import('../engine/images');
      tagImage(ctx, image, names);
    });

  const image = program.command('image').description('manage images');
  image
    .command('exists')
    .description('exit 0 if the image is in local storage, 1 if not')
    .argument('<image>')
    .action(async (ref: string, _o, cmd) => {
      const ctx = await engine(cmd);
      const { imageExists } = await import('../engine/images');
      if (!imageExists(ctx, ref)) throw new ExitError(1);
    });
  image
    .command('inspect')
    .argument('<images...>')
    .option('-f, --format <template>', 'Go template or json')
    .action(async (refs: string[], o, cmd) => {
      const ctx = await engine(cmd);
      const { inspect } = await import('./commands/inspect');
      await inspect(ctx, refs, { format: o.format, type: 'image' });
    });
  for (const [sub, target] of [['ls', 'images'], ['list', 'images'], ['rm', 'rmi'], ['tag', 'tag'], ['load', 'load'], ['import', 'import']]) {
    image.command(sub).allowUnknownOption().allowExcessArguments().helpOption(false).action(async (_o, cmd: Command) => {
      await program.parseAsync([target, ...cmd.args], { from: 'user' });
    });
  }

  // ---- containers ---------------------------------------------------------
  addRunFlags(program.command('run').description('run a command in a new container')).action(
    async (img: string, command: string[], o: RunFlags, cmd: Command) => {
      if (o.detach) throw new ExitError(125, 'Error: --detach is not supported yet: detached containers come in a later release');
      await needSession();
      const ctx = await engine(cmd);
      const { runContainer } = await import('./commands/containers');
      throw new ExitError(await runContainer(ctx, createOptions(img, command, o)));
    },
  );

  addRunFlags(program.command('create').description('create a container without starting it')).action(
    async (img: string, command: string[], o: RunFlags, cmd: Command) => {
      await needSession();
      const ctx = await engine(cmd);
      const { createContainer } = await import('../engine/create');
      print(createContainer(ctx, createOptions(img, command, o)).id);
    },
  );

  program
    .command('start')
    .description('start containers')
    .argument('<containers...>')
    .option('-a, --attach', 'attach to the container output and wait for it', false)
    .option('-i, --interactive', 'attach standard input', false)
    .action(async (refs: string[], o, cmd) => {
      await needSession();
      const ctx = await engine(cmd);
      const { startContainers } = await import('./commands/containers');
      throw new ExitError(await startContainers(ctx, refs, o));
    });

  const psCmd = (parent: Command, name: string) =>
    parent
      .command(name)
      .description('list containers')
      .option('-a, --all', 'show all containers, not only running ones', false)
      .option('-q, --quiet', 'print only the container IDs', false)
      .option('--format <template>', 'pretty-print with a Go template, or json')
      .option('--no-trunc', 'do not truncate output')
      .option('-n, --noheading', 'do not print column headings', false)
      .option('-l, --latest', 'the latest container only', false)
      .action(async (o, cmd) => {
        const ctx = await engine(cmd);
        const { listContainers } = await import('./commands/containers');
        print(listContainers(ctx, o));
      });
  psCmd(program, 'ps');

  const rmCmd = (parent: Command, name: string) =>
    parent
      .command(name)
      .description('remove containers')
      .argument('[containers...]')
      .option('-a, --all', 'remove all containers', false)
      .option('-f, --force', 'stop running containers first', false)
      .option('-i, --ignore', 'ignore containers that do not exist', false)
      .action(async (refs: string[], o, cmd) => {
        await needSession();
        const ctx = await engine(cmd);
        const { removeContainers } = await import('./commands/containers');
        await removeContainers(ctx, refs, o);
      });
  rmCmd(program, 'rm');

  program
    .command('inspect')
    .description('show details of containers or images')
    .argument('<names...>')
    .option('-f, --format <template>', 'Go template or json')
    .addOption(new Option('-t, --type <type>', 'what to inspect').choices(['all', 'container', 'image']).default('all'))
    .action(async (refs: string[], o, cmd) => {
      const ctx = await engine(cmd);
      const { inspect } = await import('./commands/inspect');
      await inspect(ctx, refs, { format: o.format, type: o.type });
    });

  const container = program.command('container').description('manage containers');
  psCmd(container, 'ls');
  psCmd(container, 'list');
  rmCmd(container, 'rm');
  container
    .command('exists')
    .argument('<container>')
    .action(async (ref: string, _o, cmd) => {
      const ctx = await engine(cmd);
      if (!ctx.containers.lookup(ref)) throw new ExitError(1);
    });
  container
    .command('inspect')
    .argument('<containers...>')
    .option('-f, --format <template>', 'Go template or json')
    .action(async (refs: string[], o, cmd) => {
      const ctx = await engine(cmd);
      const { inspect } = await import('./commands/inspect');
      await inspect(ctx, refs, { format: o.format, type: 'container' });
    });
  for (const sub of ['run', 'create', 'start']) {
    container.command(sub).allowUnknownOption().allowExcessArguments().helpOption(false).action(async (_o, cmd: Command) => {
      await program.parseAsync([sub, ...cmd.args], { from: 'user' });
    });
  }

  // ---- system -------------------------------------------------------------
  program
    .command('info')
    .description('show information about the host and storage')
    .option('-f, --format <template>', 'Go template or json')
    .action(async (o, cmd) => {
      const ctx = await engine(cmd);
      const { showInfo } = await import('./commands/system');
      print(await showInfo(ctx, o.format));
    });

  program
    .command('version')
    .description('show version information')
    .option('-f, --format <template>', 'Go template or json')
    .action(async (o) => {
      const { showVersion } = await import('./commands/system');
      print(showVersion(VERSION, o.format));
    });

  return program;
}

/** Podman's words for a bad command line: "Error: unknown flag: --x". */
function usageMessage(err: CommanderError): string {
  const m = err.message.replace(/^error: /, '');
  const unknownOpt = /unknown option '([^']+)'/.exec(m);
  if (unknownOpt) return `unknown flag: ${unknownOpt[1]}`;
  const unknownCmd = /unknown command '([^']+)'/.exec(m);
  if (unknownCmd) return `unrecognized command \`selkie ${unknownCmd[1]}\``;
  return m;
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
  ]);
}

export async function main(argv: string[]): Promise<number> {
  if (argv[0] === '__warm-cache') {
    await warmCache();
    return 0;
  }
  const program = buildProgram();
  const applyOverrides = (cmd: Command) => {
    cmd.exitOverride();
    cmd.configureOutput({ writeErr: () => {} });
    for (const sub of cmd.commands) applyOverrides(sub);
  };
  applyOverrides(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      process.stderr.write(`Error: ${usageMessage(err)}\n`);
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

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // stdin may hold the event loop open after the container is gone.
    if (process.stdin.listenerCount('data') > 0) process.stdin.destroy();
  },
  (err) => {
    process.stderr.write(`Error: ${String(err)}\n`);
    process.exitCode = 125;
  },
);
