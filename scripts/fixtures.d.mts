export interface TarEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'fifo' | 'character-device' | 'block-device';
  mode?: number;
  uid?: number;
  gid?: number;
  linkname?: string;
  content?: Buffer;
  mtime?: Date;
  size?: number;
  pax?: Record<string, string>;
}
export function tarOf(entries: TarEntry[]): Promise<Buffer>;
export function busyboxEntries(extra?: TarEntry[]): TarEntry[];
export function writeRootfsTar(path: string, extra?: TarEntry[]): Promise<void>;
export function writeDockerArchive(
  path: string,
  opts?: { repoTag?: string | null; layers?: TarEntry[][]; config?: Record<string, unknown> },
): Promise<{ imageId: string; diffIDs: string[] }>;
export function writeOciArchive(
  path: string,
  opts?: { refName?: string; layers?: TarEntry[][]; config?: Record<string, unknown> },
): Promise<{ imageId: string; diffIDs: string[] }>;
