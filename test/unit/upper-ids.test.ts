// Owners in a container's upper layer, as commit reads them back.  The on-disk
// IDs below are what was measured (Linux 6.x overlay, fuse-overlayfs 1.10):
// a file the container chowns to 33:33 is stored as 33, root's files as 0,
// whatever the userns mode.
import { describe, expect, it } from 'vitest';
import { BLOCK_SIZE, blockBase, containerMapping, fromSessionId, toSessionId, upperIdToContainer } from '../../src/userns/mapping';

const HOST = { uid: 1001, gid: 1001 };

describe('upper layer owners -> container IDs', () => {
  it('host (kernel overlay, the container is the session): the stored ID is the container ID', () => {
    const m = containerMapping('host', undefined, HOST);
    for (const id of [0, 33, 1000, 65534, 65535, 100000]) expect(upperIdToContainer(m.uid, id)).toBe(id);
  });

  it.each(['private', 'auto', 'nomap'] as const)('%s (fuse-overlayfs): on-disk IDs are the container IDs', (mode) => {
    const m = containerMapping(mode, 2, HOST);
    for (const id of [0, 1, 33, 1000, 65534, 65535]) {
      expect(upperIdToContainer(m.uid, id)).toBe(id);
      expect(upperIdToContainer(m.gid, id)).toBe(id);
    }
    // Beyond the mapping fuse-overlayfs shows its overflow ID: no container ID stands for it.
    expect(upperIdToContainer(m.uid, BLOCK_SIZE)).toBeUndefined();
  });

  it('keep-id: my own ID is stored as my host ID and comes back as it', () => {
    const m = containerMapping('keep-id', 1, HOST);
    expect(upperIdToContainer(m.uid, 1001)).toBe(1001);
    expect(upperIdToContainer(m.uid, 0)).toBe(0);
    expect(upperIdToContainer(m.uid, 33)).toBe(33);
    expect(upperIdToContainer(m.uid, 1002)).toBe(1002);
  });

  it('keep-id with a host ID beyond the image ID space keeps it (commit then refuses it)', () => {
    const m = containerMapping('keep-id', 0, { uid: 70000, gid: 70000 });
    expect(upperIdToContainer(m.uid, 70000)).toBe(70000);
    expect(upperIdToContainer(m.uid, 5)).toBe(5);
  });

  it('goes through the S ID fuse-overlayfs presents, then the container mapping back', () => {
    const m = containerMapping('private', 3, HOST);
    // on disk 33 -> presented as S ID base+33 -> container 33
    expect(toSessionId(m.uid, 33)).toBe(blockBase(3) + 33);
    expect(fromSessionId(m.uid, blockBase(3) + 33)).toBe(33);
    expect(fromSessionId(m.uid, 0)).toBe(0); // container root is S 0 in private mode
    expect(fromSessionId(m.uid, blockBase(4))).toBeUndefined();
  });

  it('an uneven mapping still inverts (entries in any order)', () => {
    const entries = [
      { inner: 10, outer: 500, count: 5 },
      { inner: 0, outer: 900, count: 10 },
    ];
    for (let id = 0; id < 15; id++) expect(upperIdToContainer(entries, id)).toBe(id);
    expect(upperIdToContainer(entries, 15)).toBeUndefined();
  });
});
