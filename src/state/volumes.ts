// Named volumes of the local driver: <graphRoot>/volumes/<name>/volume.json
// beside _data (the content, owned by container IDs as layers are: a file of
// container uid 33 is stored as S ID 33).  A volume appears whole or not at
// all: it is built in a temporary directory and renamed into place; changes
// to the set of volumes happen under one lock file.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic';
import { withLock } from './lock';

export interface VolumeRecord {
  Name: string;
  Driver: 'local';
  CreatedAt: string;
  Labels: Record<string, string>;
  Options: Record<string, string>;
  /** created for one container (-v /path, image VOLUME); removed with it by rm -v / --rm */
  Anonymous?: boolean;
  /** the image's content at the first mount target is still to be copied in */
  NeedsCopyUp?: boolean;
}

export class VolumeExistsError extends Error {}

export class VolumeStore {
  readonly dir: string;
  private readonly lockPath: string;

  constructor(graphRoot: string) {
    this.dir = join(graphRoot, 'volumes');
    this.lockPath = join(graphRoot, 'volumes.lock');
  }

  locked<T>(fn: () => T): T {
    return withLock(this.lockPath, fn);
  }

  volumeDir(name: string): string {
    return join(this.dir, name);
  }

  dataDir(name: string): string {
    return join(this.dir, name, '_data');
  }

  /** Work directories of the per-container presentations (fuse-overlayfs needs one each). */
  workDir(name: string, containerId: string): string {
    return join(this.dir, name, 'work', containerId);
  }

  get(name: string): VolumeRecord | undefined {
    try {
      return JSON.parse(readFileSync(join(this.dir, name, 'volume.json'), 'utf8')) as VolumeRecord;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
      throw err;
    }
  }

  list(): VolumeRecord[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    return names
      .filter((n) => !n.startsWith('.'))
      .map((n) => this.get(n))
      .filter((v): v is VolumeRecord => v !== undefined)
      .sort((a, b) => a.Name.localeCompare(b.Name));
  }

  /** Creates the volume; throws VolumeExistsError when the name is taken. */
  create(rec: Omit<VolumeRecord, 'Driver' | 'CreatedAt'>): VolumeRecord {
    const full: VolumeRecord = { Driver: 'local', CreatedAt: new Date().toISOString(), ...rec };
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const tmp = join(this.dir, `.new-${process.pid}-${Date.now()}-${rec.Name}`);
    mkdirSync(join(tmp, '_data'), { recursive: true, mode: 0o755 });
    try {
      writeFileAtomic(join(tmp, 'volume.json'), JSON.stringify(full, null, 2), 0o600);
      // rename(2) onto an existing non-empty directory fails: the name is taken.
      renameSync(tmp, join(this.dir, rec.Name));
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') throw new VolumeExistsError(rec.Name);
      throw err;
    }
    return full;
  }

  update(name: string, fn: (v: VolumeRecord) => void): VolumeRecord | undefined {
    const v = this.get(name);
    if (!v) return undefined;
    fn(v);
    writeFileAtomic(join(this.dir, name, 'volume.json'), JSON.stringify(v, null, 2), 0o600);
    return v;
  }

  /** Removes the volume: renamed aside first, so no reader sees half of it. */
  remove(name: string): void {
    const gone = join(this.dir, `.rm-${process.pid}-${Date.now()}-${name}`);
    try {
      renameSync(join(this.dir, name), gone);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    rmSync(gone, { recursive: true, force: true });
  }
}
