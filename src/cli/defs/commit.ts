// Commands of the commit area; gathered by ../main.ts.
import { bool, engine, print, str, type CommandDef, type GroupTable } from '../command';

export const commands: CommandDef[] = [
  {
    name: 'commit',
    usage: 'selkie commit [options] CONTAINER [IMAGE]',
    description: "Create a new image from a container's changes",
    options: [
      str('author', 'a', 'author of the image (e.g. "Name <email>")'),
      str('change', 'c', 'apply a Dockerfile instruction (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR)', true),
      str('message', 'm', 'commit message for the image'),
      str('format', 'f', 'image format: oci (default) or docker'),
      // Accepted for compatibility: pausing needs a cgroup freezer (see engine/commit.ts).
      bool('pause', 'p', 'pause the container while committing (not supported: ignored)'),
      bool('quiet', 'q', 'print only the image ID'),
    ],
    minArgs: 1,
    maxArgs: 2,
    session: true,
    async run(g, o, [container, image]) {
      const ctx = await engine(g);
      const { commitContainer, parseCommitFormat } = await import('../../engine/commit');
      // Progress goes to stderr, and only to a terminal; the ID on stdout is what scripts read.
      const log = !o.quiet && process.stderr.isTTY ? (line: string) => process.stderr.write(`${line}\n`) : undefined;
      const rec = await commitContainer(ctx, container, {
        name: image,
        author: o.author,
        message: o.message,
        changes: o.change,
        format: parseCommitFormat(o.format),
        log,
      });
      print(rec.id);
    },
  },
];

export const groups: GroupTable = {
  container: { commit: { command: 'commit' } },
};
