import { readFileSync } from 'node:fs';
// Per-container ID mappings.  All IDs on the right-hand side are the session
// namespace's (S): 0 is the invoking user, 1..65535 hold image files on disk,
// and container blocks start at BLOCK_SIZE, one block per container.
import type { MapEntry } from './subid';

/** Image layers use container IDs 0..65535, stored on disk as the same S IDs. */
export const IMAGE_ID_SPACE = 65536;
export const BLOCK_SIZE = 65536;

export type UsernsMode = 'private' | 'auto' | 'host' | 'keep-id' | 'nomap';

export function parseUsernsMode(text: string | undefined): UsernsMode {
  if (text === undefined || text === '' || text === 'private') return 'private';
  if (text === 'auto' || text === 'host' || text === 'keep-id' || text === 'nomap') return text;
  if (text.startsWith('auto:') || text.startsWith('keep-id:')) {
    throw new Error(`--userns=${text}: options to ${text.split(':')[0]} are not supported yet`);
  }
  throw new Error(`invalid --userns "${text}": expected private, auto, host, keep-id or nomap`);
}

/** How many container blocks fit in a session namespace of `sessionSize` IDs. */
export function blockCount(sessionSize: number): number {
  return Math.max(0, Math.floor((sessionSize - IMAGE_ID_SPACE) / BLOCK_SIZE));
}

/** The first S ID of block `index`. */
export function blockBase(index: number): number {
  return IMAGE_ID_SPACE + index * BLOCK_SIZE;
}

/** The lowest block index not in `used`, or undefined when all `count` are taken. */
export function lowestFreeBlock(used: Iterable<number>, count: number): number | undefined {
  const taken = new Set(used);
  for (let i = 0; i < count; i++) if (!taken.has(i)) return i;
  return undefined;
}

export interface ContainerMapping {
  /** undefined: the container runs in S itself (no user namespace of its own) */
  uid?: MapEntry[];
  gid?: MapEntry[];
  /** the user and group a process runs as when neither image nor --user says */
  defaultUser?: { uid: number; gid: number };
}

function keepIdMap(hostId: number, base: number): MapEntry[] {
  if (hostId >= BLOCK_SIZE) {
    return [
      { inner: 0, outer: base, count: BLOCK_SIZE },
      { inner: hostId, outer: 0, count: 1 },
    ];
  }
  const out: MapEntry[] = [];
  if (hostId > 0) out.push({ inner: 0, outer: base, count: hostId });
  out.push({ inner: hostId, outer: 0, count: 1 });
  if (hostId + 1 < BLOCK_SIZE) out.push({ inner: hostId + 1, outer: base + hostId + 1, count: BLOCK_SIZE - hostId - 1 });
  return out;
}

/**
 * The mapping of a container in `mode` that holds block `block` (ignored for
 * host).  `host` is the invoking user's host uid/gid (for keep-id).
 */
export function containerMapping(mode: UsernsMode, block: number | undefined, host: { uid: number; gid: number }): ContainerMapping {
  if (mode === 'host') return {};
  if (block === undefined) throw new Error(`--userns=${mode} needs an ID block`);
  const base = blockBase(block);
  switch (mode) {
    case 'private': {
      // Container root is the invoking user; every other ID is the container's own.
      const m: MapEntry[] = [
        { inner: 0, outer: 0, count: 1 },
        { inner: 1, outer: base + 1, count: BLOCK_SIZE - 1 },
      ];
      return { uid: m, gid: m.map((e) => ({ ...e })) };
    }
    case 'auto':
    case 'nomap': {
      const m: MapEntry[] = [{ inner: 0, outer: base, count: BLOCK_SIZE }];
      return { uid: m, gid: m.map((e) => ({ ...e })) };
    }
    case 'keep-id':
      return {
        uid: keepIdMap(host.uid, base),
        gid: keepIdMap(host.gid, base),
        defaultUser: { uid: host.uid, gid: host.gid },
      };
  }
}

/**
 * fuse-overlayfs's uidmapping=/gidmapping= value: ON_DISK:PRESENTED:COUNT in S
 * IDs.  Files on disk carry container IDs (the image's own), so each mapping
 * entry translates directly.
 */
export function fuseMappingOption(entries: MapEntry[]): string {
  return entries.map((e) => `${e.inner}:${e.outer}:${e.count}`).join(':');
}

/** Maps a container ID to its S ID, or undefined when it is not mapped. */
export function toSessionId(entries: MapEntry[] | undefined, id: number): number | undefined {
  if (!entries) return id;
  for (const e of entries) if (id >= e.inner && id < e.inner + e.count) return e.outer + (id - e.inner);
  return undefined;
}

/** Maps an S ID back to the container ID it stands for, or undefined when the container cannot see it. */
export function fromSessionId(entries: MapEntry[] | undefined, id: number): number | undefined {
  if (!entries) return id;
  for (const e of entries) if (id >= e.outer && id < e.outer + e.count) return e.inner + (id - e.outer);
  return undefined;
}

/**
 * The container's view of an owner stored in its writable (upper) layer,
 * `entries` being the container's mapping (uid or gid).  Kernel overlay (no
 * mapping: the container runs in S) stores the writer's S ID, which is the
 * container's own ID.  fuse-overlayfs is mounted with these same entries as
 * uidmapping/gidmapping (fuseMappingOption: on-disk `inner` is presented as S
 * ID `outer`), and the container sees presented S ID `outer` as `inner`
 * again; so the on-disk ID is presented, then mapped back.  Measured with
 * fuse-overlayfs 1.10 and Linux 6.x for private, auto and keep-id: a file a
 * container chowns to 33 is stored as 33, its root's files as 0.  undefined:
 * fuse-overlayfs shows the file as its overflow ID, i.e. nobody in particular.
 */
export function upperIdToContainer(entries: MapEntry[] | undefined, onDisk: number, driver: 'overlay' | 'fuse-overlayfs' = 'fuse-overlayfs'): number | undefined {
  if (!entries) return onDisk;
  // Kernel overlay under a container mapping (an image of root-owned files
  // only): the upper layer holds the writers' S IDs, mapped back directly.
  if (driver === 'overlay') return fromSessionId(entries, onDisk);
  const presented = toSessionId(entries, onDisk);
  return presented === undefined ? undefined : fromSessionId(entries, presented);
}

/** The highest group ID mapped in this process's user namespace (a ping_group_range may name mapped groups only). */
export function highestMappedGid(): number {
  let max = 0;
  try {
    for (const l of readFileSync('/proc/self/gid_map', 'utf8').trim().split('\n')) {
      const [inside, , count] = l.trim().split(/\s+/).map(Number);
      if (Number.isFinite(inside + count)) max = Math.max(max, inside + count - 1);
    }
  } catch {
    /* no /proc: root only */
  }
  return max;
}
