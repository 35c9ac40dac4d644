// Waiting for a file to grow, for readers that follow a log (logs -f, events).
// inotify on the file's directory wakes the reader at once; a short timer
// covers what inotify misses (a file replaced by rename, a directory that
// does not exist yet, no inotify watches left) and lets the caller re-check
// whether it should still be waiting at all.
import { watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';

export class ChangeWaiter {
  private watcher?: FSWatcher;
  private wake?: () => void;

  constructor(path: string) {
    try {
      this.watcher = watch(dirname(path), { persistent: false }, () => this.wake?.());
      this.watcher.on('error', () => this.close());
    } catch {
      /* polling only */
    }
  }

  /** Resolves on a change in the directory, or after ms. */
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wake = undefined;
        resolve();
      }
      this.wake = done;
    });
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }
}
