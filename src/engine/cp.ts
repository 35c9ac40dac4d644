// `cp`: copying between a container's filesystem and the host's, or a tar
// stream.  The container's side is resolved inside its root, whatever its
// symlinks say (storage/tree-locate.ts); trees are read without following
// links (tree-walk.ts) and written below the destination directory only
// (tree-extract.ts).  Which directory and which name: cp-rules.ts.
import { posix } from 'node:path';
import { resolveUser, RootFs } from '../runtime/rootfs';
import type { ContainerRecord } from '../state/containers';
import { closeTree, containerTree, HOST_TREE, locate, release, type Located, type Tree } from '../storage/tree-locate';
import { extractTree, type ExtractOptions } from '../storage/tree-extract';
import { NotATarError, packTree, tarEntries } from '../storage/tree-tar';
import { walkTree, type WalkStart } from '../storage/tree-walk';
import { fromSessionId, toSessionId } from '../userns/mapping';
import { mappingOf, withContainerRoot } from './container-mount';
import type { EngineContext } from './context';
import { checkStreamDest, containerPath, hostPath, notFound, parseCpArgs, planCopy, sourceName, type CpPath } from './cp-rules';
import { EngineError, NotFoundError } from './errors';

export interface CpOptions {
  /** chown what is copied into the container to its user (Podman's --archive, on by default); off: keep the source's IDs */
  archive: boolean;
  /** follow a symlink that SRC itself names */
  followLink: boolean;
  /** let a directory replace a non-directory and the other way round */
  overwrite: boolean;
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  cwd: string;
}

/** The ID the kernel shows for an ID not mapped (overflowuid). */
const OVERFLOW_ID = 65534;

export async function copy(ctx: EngineContext, srcArg: string, destArg: string, opts: CpOptions): Promise<void> {
  const sides = parseCpArgs(srcArg, destArg);
  const ref = sides.src.kind === 'container' ? sides.src.container : (sides.dest as { container: string }).container;
  const rec = ctx.containers.lookup(ref);
  if (!rec) throw new NotFoundError(`no container with name or ID "${ref}" found: no such container`);
  if (sides.src.kind === 'container') await copyFromContainer(ctx, rec, sides.src.path, sides.dest as HostOrStream, `container ${ref}`, opts);
  else await copyToContainer(ctx, rec, sides.src, (sides.dest as { path: string }).path, `container ${ref}`, opts);
}

type HostOrStream = { kind: 'host'; path: string } | { kind: 'stream' };

async function copyFromContainer(ctx: EngineContext, rec: ContainerRecord, srcArg: string, dest: HostOrStream, where: string, opts: CpOptions) {
  await withContainerRoot(ctx, rec, async (rootfs) => {
    const tree = containerTree(rootfs);
    try {
      await copyOut(rec, tree, containerPath(srcArg, rec.config.workingDir), srcArg, where, dest, opts);
    } finally {
      closeTree(tree);
    }
  });
}

async function copyToContainer(ctx: EngineContext, rec: ContainerRecord, src: HostOrStream, destArg: string, where: string, opts: CpOptions) {
  // The host's source first: nothing is mounted for a path that is not there.
  const hp = src.kind === 'host' ? hostPath(src.path, opts.cwd) : undefined;
  const from = hp && src.kind === 'host' ? find(HOST_TREE, hp, follows(hp, opts), src.path, 'the host') : undefined;
  try {
    if (from && !from.exists && src.kind === 'host') throw notFound(src.path, 'the host', 'no such file or directory');
    await withContainerRoot(ctx, rec, async (rootfs) => {
      const tree = containerTree(rootfs);
      try {
        const dp = containerPath(destArg, rec.config.workingDir);
        const to = find(tree, dp, { follow: true, mustBeDir: dp.suffix !== 'none' }, destArg, where);
        try {
          const x = { owner: owner(rec, rootfs, opts.archive), overwrite: opts.overwrite };
          if (from?.exists && hp) {
            await copyTree(from, hp, to, { path: to.path, suffix: dp.suffix }, destArg, where, x);
          } else {
            // a tar stream on stdin
            checkStreamDest({ exists: to.exists, isDir: to.exists && to.st.isDirectory() });
            if (to.exists) await extractTree(stdinEntries(opts.stdin), to.fd, { ...x, where: to.path });
          }
        } finally {
          release(to);
        }
      } finally {
        closeTree(tree);
      }
    });
  } finally {
    if (from) release(from);
  }
}

async function copyOut(
  rec: ContainerRecord,
  tree: Tree,
  sp: CpPath,
  srcArg: string,
  where: string,
  dest: HostOrStream,
  opts: CpOptions,
): Promise<void> {
  const from = find(tree, sp, follows(sp, opts), srcArg, where);
  try {
    if (!from.exists) throw notFound(srcArg, where, 'no such file or directory');
    // The archive shows owners as the container sees them.
    const m = mappingOf(rec);
    const ids = (uid: number, gid: number) => ({ uid: fromSessionId(m.uid, uid) ?? OVERFLOW_ID, gid: fromSessionId(m.gid, gid) ?? OVERFLOW_ID });
    if (dest.kind === 'stream') {
      await packTree(walkTree(startOf(from), sourceName(sp), { ids }), opts.stdout);
      return;
    }
    const dp = hostPath(dest.path, opts.cwd);
    const to = find(HOST_TREE, dp, { follow: true, mustBeDir: dp.suffix !== 'none' }, dest.path, 'the host');
    try {
      if (to.exists && !to.st.isDirectory() && !to.st.isFile()) {
        throw new EngineError(`invalid destination: "${to.path}" must be a directory or a regular file`);
      }
      // Written as the invoking user (root of the session namespace is that user): no chown.
      await copyTree(from, sp, to, { path: to.path, suffix: dp.suffix }, dest.path, 'the host', { overwrite: opts.overwrite });
    } finally {
      release(to);
    }
  } finally {
    release(from);
  }
}

/** A tree to a tree: Docker's rules decide the directory and the name. */
async function copyTree(
  from: Located & { exists: true },
  sp: CpPath,
  to: Located,
  dp: CpPath,
  destArg: string,
  where: string,
  x: Omit<ExtractOptions, 'where'>,
): Promise<void> {
  const plan = planCopy({ ...sp, isDir: from.st.isDirectory() }, { ...dp, exists: to.exists, isDir: to.exists && to.st.isDirectory() }, destArg, where);
  const dirFd = plan.into === 'dest' && to.exists ? to.fd : to.parentFd!;
  const dirPath = plan.into === 'dest' ? to.path : posix.dirname(to.path);
  await extractTree(walkTree(startOf(from), plan.name), dirFd, { ...x, where: dirPath });
}

function startOf(loc: Located & { exists: true }): WalkStart {
  return { fd: loc.fd, st: loc.st, parentFd: loc.parentFd, name: loc.name };
}

/** A symlink that SRC names is followed with -L, or when SRC says it is a directory ("link/", "link/."). */
function follows(p: CpPath, opts: CpOptions): { follow: boolean; mustBeDir: boolean } {
  return { follow: opts.followLink || p.suffix !== 'none', mustBeDir: p.suffix !== 'none' };
}

const WHY: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'not a directory',
  ELOOP: 'too many levels of symbolic links',
  EACCES: 'permission denied',
};

function find(tree: Tree, p: CpPath, how: { follow: boolean; mustBeDir: boolean }, arg: string, where: string): Located {
  try {
    return locate(tree, p.path, how);
  } catch (e) {
    const why = WHY[(e as NodeJS.ErrnoException).code ?? ''];
    if (why) throw notFound(arg, where, why);
    throw e;
  }
}

/**
 * Who owns what is copied into the container, as IDs of the mount (the
 * session namespace's): with --archive the container's user (its --user or
 * the image's USER, as Podman does), else the source's own IDs taken as the
 * container's.
 */
function owner(rec: ContainerRecord, rootfs: string, archive: boolean): ExtractOptions['owner'] {
  const m = mappingOf(rec);
  const toS = (uid: number, gid: number) => {
    const su = toSessionId(m.uid, uid);
    const sg = toSessionId(m.gid, gid);
    if (su === undefined || sg === undefined) {
      throw new EngineError(`owner ${uid}:${gid} is not mapped in the user namespace of container ${rec.name} (--userns=${rec.userns.mode}): use --archive to copy as the container's user`);
    }
    return { uid: su, gid: sg };
  };
  if (!archive) return toS;
  const root = new RootFs(rootfs);
  let user;
  try {
    user = resolveUser(root, rec.config.user || (m.defaultUser ? `${m.defaultUser.uid}:${m.defaultUser.gid}` : ''));
  } finally {
    root.close();
  }
  const ids = toS(user.uid, user.gid);
  return () => ids;
}

async function* stdinEntries(input: NodeJS.ReadableStream) {
  try {
    yield* tarEntries(input);
  } catch (e) {
    if (e instanceof NotATarError) throw new EngineError('source must be a (compressed) tar archive when copying from stdin');
    throw e;
  }
}
