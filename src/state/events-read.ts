// Reading the events log: what it holds, then (following) what other selkie
// processes append.  Rotation keeps the newer half of the log under a new
// inode; a follower picks up after the last line it passed on, so events are
// neither lost nor repeated across a rotation.
import { decodeEvent, eventsLogPath, type SelkieEvent } from './events';
import { ChangeWaiter } from './file-watch';
import { FollowedFile } from './followed-file';

export interface ReadEventsOptions {
  /** all events in the log; otherwise only those appended from now on */
  fromStart: boolean;
  follow: boolean;
  /** following ends once this says true (after reading what is there) */
  stop?: () => boolean;
  pollMs?: number;
  onEvent: (ev: SelkieEvent) => void;
}

export async function readEvents(runRoot: string, opts: ReadEventsOptions): Promise<void> {
  const path = eventsLogPath(runRoot);
  const file = new FollowedFile(path);
  const waiter = opts.follow ? new ChangeWaiter(path) : undefined;
  let last: Buffer | undefined;
  const pass = () => {
    const segments: Buffer[][] = [[]];
    file.read(
      (line) => segments[segments.length - 1].push(Buffer.from(line)),
      () => segments.push([]),
    );
    segments.forEach((lines, i) => {
      // a file that replaced the one read: skip what was already passed on
      const seen = i > 0 && last ? lines.findIndex((l) => l.equals(last!)) : -1;
      for (const line of lines.slice(seen + 1)) {
        last = line;
        const ev = decodeEvent(line.toString('utf8'));
        if (ev) opts.onEvent(ev);
      }
    });
  };
  try {
    if (!opts.fromStart) file.seek(file.size());
    for (;;) {
      pass();
      if (!opts.follow || opts.stop?.()) return;
      await waiter!.wait(opts.pollMs ?? 100);
    }
  } finally {
    waiter?.close();
    file.close();
  }
}
