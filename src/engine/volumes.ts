// Named volumes as the engine offers them: create, list, inspect, remove,
// prune, and the volumes a new container's -v/--mount and image VOLUMEs need.
import { realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import type { ContainerRecord, MountSpec } from '../state/containers';
import { randomHex } from '../state/random';
import { VolumeExistsError, type VolumeRecord } from '../state/volumes';
import type { EngineContext } from './context';
import { labelTest, namePattern, recordFilter } from './record-filter';
import { EngineError, InUseError, NotFoundError } from './errors';
import { NAME_RULE } from '../state/names';
import { VOLUME_NAME } from './mount-spec';

export interface VolumeInfo extends VolumeRecord {
  Mountpoint: string;
  Scope: 'local';
  MountCount: number;
  NeedsCopyUp: boolean;
  NeedsChown: boolean;
  Anonymous: boolean;
}

function randomVolumeName(): string {
  return randomHex(32);
}

export function createVolume(
  ctx: EngineContext,
  opts: { name?: string; labels?: Record<string, string>; options?: Record<string, string>; anonymous?: boolean; ignoreExisting?: boolean },
  /** the caller holds the volume lock already (flock is not re-entrant) */
  locked = false,
): VolumeRecord {
  const name = opts.name ?? randomVolumeName();
  if (!VOLUME_NAME.test(name)) throw new EngineError(`volume name "${name}" is invalid: ${NAME_RULE}`);
  for (const k of Object.keys(opts.options ?? {})) {
    throw new EngineError(`invalid volume option "${k}" for the local driver: no options are supported yet`);
  }
  ctx.ensureDirs();
  const under = <T>(fn: () => T): T => (locked ? fn() : ctx.volumes.locked(fn));
  return under(() => {
    try {
      return ctx.volumes.create({
        Name: name,
        Labels: opts.labels ?? {},
        Options: opts.options ?? {},
        NeedsCopyUp: true,
        ...(opts.anonymous ? { Anonymous: true } : {}),
      });
    } catch (err) {
      if (!(err instanceof VolumeExistsError)) throw err;
      if (opts.ignoreExisting) return ctx.volumes.get(name)!;
      throw new EngineError(`volume with name ${name} already exists: volume already exists`);
    }
  });
}

/** Containers whose mounts name the volume. */
export function volumeUsers(ctx: EngineContext, name: string, all = ctx.containers.list()): ContainerRecord[] {
  return all.filter((c) => (c.config.mounts ?? []).some((m) => m.type === 'volume' && m.source === name));
}

export function requireVolume(ctx: EngineContext, name: string): VolumeRecord {
  const v = VOLUME_NAME.test(name) ? ctx.volumes.get(name) : undefined;
  if (!v) throw new NotFoundError(`no volume with name "${name}" found: no such volume`, 1);
  return v;
}

export function inspectVolume(ctx: EngineContext, v: VolumeRecord, all?: ContainerRecord[]): VolumeInfo {
  const running = volumeUsers(ctx, v.Name, all).filter((c) => c.state.status === 'running').length;
  return {
    Name: v.Name,
    Driver: v.Driver,
    Mountpoint: ctx.volumes.dataDir(v.Name),
    CreatedAt: v.CreatedAt,
    Labels: v.Labels,
    Scope: 'local',
    Options: v.Options,
    MountCount: running,
    NeedsCopyUp: !!v.NeedsCopyUp,
    NeedsChown: false,
    Anonymous: !!v.Anonymous,
  };
}

/**
 * Removes a volume.  In use by a container: refused (exit 2) unless force,
 * which removes those containers first (Podman).
 */
export async function removeVolume(ctx: EngineContext, name: string, force: boolean): Promise<void> {
  const v = requireVolume(ctx, name);
  const users = volumeUsers(ctx, v.Name);
  if (users.length && !force) {
    throw new InUseError(`volume ${v.Name} is being used by the following container(s): ${users.map((c) => c.id).join(', ')}: volume is being used`);
  }
  if (users.length) {
    const { removeContainer } = await import('./remove');
    for (const c of users) await removeContainer(ctx, c.id, true);
  }
  ctx.volumes.locked(() => {
    // A container created meanwhile wins: the volume stays.
    const now = volumeUsers(ctx, v.Name);
    if (now.length) throw new InUseError(`volume ${v.Name} is being used by the following container(s): ${now.map((c) => c.id).join(', ')}: volume is being used`);
    ctx.volumes.remove(v.Name);
  });
}

/** Removes every volume no container uses; returns their names. */
export function pruneVolumes(ctx: EngineContext, filter: (v: VolumeRecord) => boolean = () => true): string[] {
  const removed: string[] = [];
  ctx.volumes.locked(() => {
    const all = ctx.containers.list();
    for (const v of ctx.volumes.list()) {
      if (!filter(v) || volumeUsers(ctx, v.Name, all).length) continue;
      ctx.volumes.remove(v.Name);
      removed.push(v.Name);
    }
  });
  return removed;
}

/** Podman's volume filters: name= (substring or regexp), label=KEY[=VALUE], driver=, anonymous=, dangling= (no container uses it). */
export function volumeFilter(filters: string[], inUse: (name: string) => boolean = () => false): (v: VolumeRecord) => boolean {
  return recordFilter<VolumeRecord>(filters, {
    name: (value) => {
      const re = namePattern(value);
      return (v) => re.test(v.Name);
    },
    label: (value) => {
      const has = labelTest(value);
      return (v) => has(v.Labels);
    },
    driver: (value) => (v) => v.Driver === value,
    anonymous: (value) => (v) => !!v.Anonymous === (value === 'true'),
    dangling: (value) => (v) => !inUse(v.Name) === (value === 'true'),
  });
}

/**
 * The mounts a new container gets: named volumes created when missing,
 * anonymous ones (-v /path and the image's VOLUMEs not otherwise covered)
 * created with random names, bind sources made absolute and resolved on the
 * host (the user's own choice of path; nothing the image controls).
 */
export function resolveContainerMounts(ctx: EngineContext, specs: MountSpec[], imageVolumes: string[], covered: string[], locked = false, cwd = process.cwd()): MountSpec[] {
  const out: MountSpec[] = [];
  const taken = new Set([...covered, ...specs.map((m) => m.destination)]);
  const implied: MountSpec[] = imageVolumes
    .map((d) => (d.length > 1 ? d.replace(/\/+$/, '') : d))
    .filter((d) => d.startsWith('/') && !taken.has(d))
    .map((destination) => ({ type: 'volume', destination, readOnly: false, chown: false, noCopy: false, options: [] }));
  for (const m of [...specs, ...implied]) {
    if (m.type === 'bind') {
      const raw = m.source!.startsWith('~') ? homedir() + m.source!.slice(1) : m.source!;
      let real: string;
      try {
        real = realpathSync(resolve(cwd, raw));
        statSync(real);
      } catch {
        throw new EngineError(`statfs ${resolve(cwd, raw)}: no such file or directory`);
      }
      out.push({ ...m, source: real });
    } else if (m.type === 'volume') {
      const v = createVolume(ctx, { name: m.source, anonymous: m.source === undefined, ignoreExisting: true }, locked);
      out.push({ ...m, source: v.Name, ...(m.source === undefined ? { anonymous: true } : {}) });
    } else {
      out.push(m);
    }
  }
  return out;
}
