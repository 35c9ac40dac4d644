// A yes/no question on the terminal, as Podman asks before pruning.  Without
// a terminal the answer is no unless the caller passed --force.
import { readSync } from 'node:fs';

/** --force, or a yes on the terminal: what every prune asks before it removes anything. */
export async function confirmed(force: boolean | undefined, question: string): Promise<boolean> {
  return !!force || (await confirm(question));
}

export async function confirm(question: string): Promise<boolean> {
  process.stdout.write(question);
  const buf = Buffer.alloc(256);
  let answer = '';
  try {
    for (;;) {
      const n = readSync(0, buf, 0, buf.length, null);
      if (n <= 0) break;
      answer += buf.subarray(0, n).toString();
      if (answer.includes('\n')) break;
    }
  } catch {
    return false;
  }
  return /^y(es)?$/i.test(answer.trim());
}
