// Whether a descriptor is a terminal, without making process.stdin/stdout/
// stderr for it: for a pipe, making one loads net and the streams (~3 ms of
// a re-pull), and so does node:tty.  A terminal is a character device of a
// tty major: 4 (ttyN, ttySN), 5 (/dev/tty, console, ptmx), 136-143 (pts);
// /dev/null and the like are other majors.
import { fstatSync } from 'node:fs';

export function isTerminal(fd: number): boolean {
  try {
    const st = fstatSync(fd);
    if (!st.isCharacterDevice()) return false;
    const major = Math.floor(st.rdev / 256) & 0xfff;
    return major === 4 || major === 5 || (major >= 136 && major <= 143);
  } catch {
    return false;
  }
}
