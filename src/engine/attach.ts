// Attaching our terminal or pipes to a container held by conmon: its attach
// socket (SOCK_SEQPACKET) carries one packet per chunk of output, the first
// byte naming the stream (2 stdout, 3 stderr); what we write to it is the
// container's stdin.  With a TTY our terminal goes raw, its size follows
// ours through conmon's control FIFO, and the detach keys (ctrl-p,ctrl-q by
// default, as Podman) leave the container running.
import { closeSync, openSync, read, writeSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { native } from '../native/index';

const O_PATH = 0o10000000;
const O_DIRECTORY = 0o200000;
import { EngineError } from './errors';

const STDOUT = 2;
const STDERR = 3;

/** "ctrl-p,ctrl-q" -> the bytes; "" disables detaching. */
export function parseDetachKeys(spec: string): Buffer {
  if (spec === '') return Buffer.alloc(0);
  const out: number[] = [];
  for (const key of spec.split(',')) {
    const k = key.trim().toLowerCase();
    const ctrl = /^ctrl-(.)$/.exec(k);
    if (ctrl) {
      const c = ctrl[1];
      if (c >= 'a' && c <= 'z') out.push(c.charCodeAt(0) - 96);
      else if (c === '@') out.push(0);
      else if (c === '[') out.push(27);
      else if (c === '\\') out.push(28);
      else if (c === ']') out.push(29);
      else if (c === '^') out.push(30);
      else if (c === '_') out.push(31);
      else throw new EngineError(`invalid detach keys "${spec}": unknown key ${key}`);
    } else if (k.length === 1) {
      out.push(k.charCodeAt(0));
    } else {
      throw new EngineError(`invalid detach keys "${spec}": unknown key ${key}`);
    }
  }
  return Buffer.from(out);
}

/** Finds the detach sequence across chunks: returns what to forward and whether it completed. */
export class DetachMatcher {
  private matched = 0;
  constructor(private readonly keys: Buffer) {}

  feed(chunk: Buffer): { forward: Buffer; detach: boolean } {
    if (this.keys.length === 0) return { forward: chunk, detach: false };
    const out: number[] = [];
    for (const byte of chunk) {
      if (byte === this.keys[this.matched]) {
        this.matched++;
        if (this.matched === this.keys.length) return { forward: Buffer.from(out), detach: true };
        continue;
      }
      // A partial match that broke is sent on, as typed.
      for (let i = 0; i < this.matched; i++) out.push(this.keys[i]);
      this.matched = byte === this.keys[0] ? 1 : 0;
      if (this.matched === 0) out.push(byte);
    }
    return { forward: Buffer.from(out), detach: false };
  }
}

export interface AttachOptions {
  socket: string;
  controlFifo: string;
  stdin: boolean;
  tty: boolean;
  detachKeys: string;
}

export interface Attachment {
  /** resolves when the container closed its output ("ended") or the user detached */
  done: Promise<'ended' | 'detached'>;
  close(): void;
}

function resize(fifo: string): void {
  const { rows, columns } = process.stdout;
  if (!rows || !columns) return;
  try {
    const fd = openSync(fifo, 'w');
    try {
      writeSync(fd, `1 ${rows} ${columns}\n`);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* conmon gone: nothing to resize */
  }
}

/**
 * Connects through a descriptor of the socket's directory: a Unix socket
 * address holds 107 bytes, and run directories named by 64-hex IDs under a
 * long XDG_RUNTIME_DIR do not fit.
 */
function connectSeqpacket(path: string): number {
  const dir = openSync(dirname(path), O_PATH | O_DIRECTORY);
  try {
    return native().seqpacketConnect(`/proc/self/fd/${dir}/${basename(path)}`);
  } finally {
    closeSync(dir);
  }
}

export function attach(o: AttachOptions): Attachment {
  let fd: number;
  try {
    fd = connectSeqpacket(o.socket);
  } catch (err) {
    throw new EngineError(`cannot attach: ${(err as Error).message}`);
  }
  const keys = parseDetachKeys(o.detachKeys);
  const matcher = new DetachMatcher(keys);
  const stdinIsTty = !!process.stdin.isTTY;
  let finish: (how: 'ended' | 'detached') => void = () => undefined;
  const done = new Promise<'ended' | 'detached'>((resolve) => (finish = resolve));
  let closed = false;

  const onWinch = () => resize(o.controlFifo);
  const cleanup = () => {
    if (closed) return;
    closed = true;
    if (o.stdin) {
      process.stdin.off('data', onInput);
      process.stdin.off('end', onInputEnd);
      process.stdin.pause();
      if (o.tty && stdinIsTty) process.stdin.setRawMode(false);
    }
    if (o.tty) process.off('SIGWINCH', onWinch);
  };
  const onInput = (chunk: Buffer) => {
    const { forward, detach } = o.tty ? matcher.feed(chunk) : { forward: chunk, detach: false };
    try {
      if (forward.length) writeSync(fd, forward);
    } catch {
      /* the container closed its stdin */
    }
    if (detach) {
      cleanup();
      finish('detached');
    }
  };
  const onInputEnd = () => {
    try {
      native().shutdownWrite(fd);
    } catch {
      /* already closed */
    }
  };

  // Output: one packet per read, 8 KiB of data at most plus the stream byte.
  const buf = Buffer.alloc(64 * 1024);
  const pump = () => {
    read(fd, buf, 0, buf.length, null, (err, n) => {
      if (closed) return;
      if (err || n === 0) {
        cleanup();
        finish('ended');
        return;
      }
      const stream = buf[0];
      // A copy: the read buffer is reused while the stream may still hold it.
      const data = Buffer.from(buf.subarray(1, n));
      if (stream === STDERR) process.stderr.write(data);
      else if (stream === STDOUT) process.stdout.write(data);
      pump();
    });
  };
  pump();

  if (o.tty) {
    resize(o.controlFifo);
    process.on('SIGWINCH', onWinch);
  }
  if (o.stdin) {
    if (o.tty && stdinIsTty) process.stdin.setRawMode(true);
    process.stdin.on('data', onInput);
    process.stdin.on('end', onInputEnd);
    process.stdin.resume();
  }
  return {
    done,
    close() {
      cleanup();
    },
  };
}
