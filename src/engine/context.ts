// The engine's shared state for one selkie process: where storage lives and
// the stores over it, opened lazily so a command touches only what it uses.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { defaultStorePaths, ensurePrivateDir, type StorePaths } from '../config/paths';
import { ImageStore } from '../image/store';
import { ContainerStore } from '../state/containers';
import { VolumeStore } from '../state/volumes';
import { BlobStore } from '../storage/blobs';
import { LayerStore } from '../storage/layers';

export interface EngineOptions {
  graphRoot?: string;
  runRoot?: string;
  /** where warnings go (the CLI prints them as Podman does: "WARN[0000] ...") */
  warn?: (msg: string) => void;
}

export class EngineContext {
  readonly paths: StorePaths;
  readonly warn: (msg: string) => void;
  private _layers?: LayerStore;
  private _images?: ImageStore;
  private _containers?: ContainerStore;
  private _blobs?: BlobStore;
  private _volumes?: VolumeStore;

  constructor(opts: EngineOptions = {}) {
    this.paths = defaultStorePaths({ graphRoot: opts.graphRoot, runRoot: opts.runRoot });
    this.warn = opts.warn ?? ((msg) => process.stderr.write(`WARN[0000] ${msg}\n`));
  }

  /** Creates the storage directories (private to the user). */
  ensureDirs(): void {
    ensurePrivateDir(this.paths.graphRoot);
    ensurePrivateDir(this.paths.runRoot);
  }

  get layers(): LayerStore {
    return (this._layers ??= new LayerStore(this.paths.graphRoot));
  }

  get images(): ImageStore {
    return (this._images ??= new ImageStore(this.paths.graphRoot, this.layers, this.blobs));
  }

  get blobs(): BlobStore {
    return (this._blobs ??= new BlobStore(this.paths.graphRoot));
  }

  get containers(): ContainerStore {
    return (this._containers ??= new ContainerStore(this.paths.graphRoot));
  }

  get volumes(): VolumeStore {
    return (this._volumes ??= new VolumeStore(this.paths.graphRoot));
  }

  /** Volatile per-container directory: bundle, rootfs mount point, pid file. */
  runDir(id: string): string {
    return join(this.paths.runRoot, 'containers', id);
  }

  /** crun's state directory. */
  get runtimeRoot(): string {
    return join(this.paths.runRoot, 'crun');
  }

  /** A scratch directory inside the graph root (same filesystem as the layers). */
  get tmpDir(): string {
    return join(this.paths.graphRoot, 'tmp');
  }

  /** tmpDir, created. */
  tmpDirReady(): string {
    mkdirSync(this.tmpDir, { recursive: true, mode: 0o700 });
    return this.tmpDir;
  }

  /** An always-empty directory, the lower layer of images that have none. */
  get emptyLayer(): string {
    return join(this.paths.graphRoot, 'empty');
  }
}
