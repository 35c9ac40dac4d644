// Commands of the cp area; gathered by ../main.ts.
import { bool, engine, type CommandDef, type GroupTable } from '../command';

export const commands: CommandDef[] = [
  {
    name: 'cp',
    usage: 'selkie cp [options] [CONTAINER:]SRC_PATH [CONTAINER:]DEST_PATH',
    description: 'Copy files/folders between a container and the local filesystem ("-" for a tar stream on stdin or stdout)',
    options: [
      bool('archive', 'a', "chown copied files to the container's primary user and group (default true; -a=false keeps the source's IDs)"),
      bool('follow-link', 'L', 'always follow a symbolic link in SRC_PATH'),
      bool('overwrite', undefined, 'allow directories to be replaced by non-directories and the other way round'),
      // Podman's deprecated no-ops, accepted so that scripts keep working.
      bool('pause', undefined, 'deprecated, ignored', true),
      bool('extract', undefined, 'deprecated, ignored', true),
    ],
    minArgs: 2,
    maxArgs: 2,
    session: true,
    async run(g, o, [src, dest]) {
      const ctx = await engine(g);
      const { copy } = await import('../../engine/cp');
      await copy(ctx, src, dest, {
        archive: o.archive !== false,
        followLink: !!o.followLink,
        overwrite: !!o.overwrite,
        stdin: process.stdin,
        stdout: process.stdout,
        cwd: process.cwd(),
      });
    },
  },
];

export const groups: GroupTable = {
  container: { cp: { command: 'cp' } },
};
