// Advisory file locks (flock) shared by every selkie process of a user: the
// coordination a daemon would otherwise provide.  A lock dies with its holder,
// so a killed process never leaves a stale lock behind.
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { native } from '../native/index';

export class FileLock {
  private fd: number | undefined;
  constructor(readonly path: string) {}

  acquire(exclusive = true): void {
    if (this.fd !== undefined) throw new Error(`lock ${this.path} is already held by this process`);
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    const fd = openSync(this.path, 'a', 0o600);
    try {
      native().flock(fd, exclusive, true);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    this.fd = fd;
  }

  tryAcquire(exclusive = true): boolean {
    if (this.fd !== undefined) throw new Error(`lock ${this.path} is already held by this process`);
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    const fd = openSync(this.path, 'a', 0o600);
    if (!native().flock(fd, exclusive, false)) {
      closeSync(fd);
      return false;
    }
    this.fd = fd;
    return true;
  }

  release(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd); // closing the last descriptor drops the flock
    this.fd = undefined;
  }
}

/** Runs fn while holding the lock at path. */
export function withLock<T>(path: string, fn: () => T, exclusive = true): T {
  const lock = new FileLock(path);
  lock.acquire(exclusive);
  try {
    return fn();
  } finally {
    lock.release();
  }
}

export async function withLockAsync<T>(path: string, fn: () => Promise<T>, exclusive = true): Promise<T> {
  const lock = new FileLock(path);
  lock.acquire(exclusive);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
