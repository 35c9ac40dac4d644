// Random IDs and names from the kernel's CSPRNG, read directly: loading
// node:crypto costs ~4 ms at start-up, which `run` does not otherwise need.
import { closeSync, openSync, readSync } from 'node:fs';

export function randomBytesSync(n: number): Buffer {
  const buf = Buffer.alloc(n);
  const fd = openSync('/dev/urandom', 'r');
  try {
    let off = 0;
    while (off < n) off += readSync(fd, buf, off, n - off, null);
  } finally {
    closeSync(fd);
  }
  return buf;
}

export function randomHex(bytes: number): string {
  return randomBytesSync(bytes).toString('hex');
}

/** A uniform integer in [0, n), n < 2^16. */
export function randomIndex(n: number): number {
  const limit = 65536 - (65536 % n);
  for (;;) {
    const v = randomBytesSync(2).readUInt16LE(0);
    if (v < limit) return v % n;
  }
}
