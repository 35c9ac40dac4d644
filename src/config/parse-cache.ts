// What parsing a configuration file gave, kept between commands.  Parsing
// TOML in a process that never runs long enough to optimize the parser costs
// ~2 us a byte: Debian's registries.conf and registries.conf.d/shortnames.conf
// made 6-8 ms of every pull.  Reading the results back from one JSON file
// costs a stat per file.
//
// An entry holds while its file is the same file with the same size and
// times (device, inode, size, mtime and ctime in nanoseconds), and while the
// build of selkie that wrote it is the one running (another build may parse
// differently).  The cache lives in the per-user runtime directory (private,
// and emptied at boot); a cache that cannot be read or written is no cache.
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';

interface Entry {
  sig: string;
  value: unknown;
}

interface Stored {
  build: string;
  entries: Record<string, Entry>;
}

/** The identity of a file as it is now, or undefined when it is not there. */
function signature(path: string): string | undefined {
  try {
    const st = statSync(path, { bigint: true });
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch {
    return undefined;
  }
}

/** The running build: the boot loader (dist/selkie.js) each build writes anew. */
function currentBuild(): string {
  return signature(process.argv[1] ?? '') ?? 'unknown';
}

export class ParseCache {
  private stored: Stored | undefined;
  private changed = false;

  /** `file`: where the cache is kept; undefined keeps nothing (each parse runs). */
  constructor(private readonly file: string | undefined) {}

  private load(): Stored {
    if (this.stored) return this.stored;
    const build = currentBuild();
    let stored: Stored = { build, entries: {} };
    if (this.file) {
      try {
        const data = JSON.parse(readFileSync(this.file, 'utf8')) as Stored;
        if (data && data.build === build && typeof data.entries === 'object' && data.entries) stored = data;
      } catch {
        /* none yet, or unreadable: start empty */
      }
    }
    this.stored = stored;
    return stored;
  }

  /**
   * `parse(path)` as it was for this file, or parsed now.  The signature is
   * taken before parse reads the file, so a file changed in between is
   * parsed again next time.  `parse` returning undefined (no such file) is
   * not kept; what it throws is thrown and not kept either.
   */
  get<T>(path: string, parse: (path: string) => T | undefined): T | undefined {
    if (!this.file) return parse(path);
    const sig = signature(path);
    const stored = this.load();
    const hit = sig === undefined ? undefined : stored.entries[path];
    if (hit && hit.sig === sig) return hit.value as T;
    const value = parse(path);
    if (value !== undefined && sig !== undefined) {
      stored.entries[path] = { sig, value };
      this.changed = true;
    }
    return value;
  }

  /** Writes what was parsed anew (atomically: concurrent commands each write a whole file). */
  save(): void {
    if (!this.file || !this.changed || !this.stored) return;
    const tmp = `${this.file}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, JSON.stringify(this.stored), { mode: 0o600 });
      renameSync(tmp, this.file);
      this.changed = false;
    } catch {
      rmSync(tmp, { force: true }); // the runtime directory is gone or full: parse again next time
    }
  }
}
