// Reading k8s-file logs as `selkie logs` does: fixture files, and a writer
// process appending (and rotating, as conmon does at max-size) while a
// follower reads.
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { streamLogs, type LogReadOptions } from '../../src/engine/logs';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'selkie-logs-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const S = 1_000_000_000n;
/** 2026-11-23T16:15:19Z plus i seconds, in conmon's layout */
const ts = (i: number, nanos = '310657565') => `2026-11-23T16:15:${String(19 + i).padStart(2, '0')}.${nanos}+00:00`;
const at = (i: number) => 1_795_450_519n * S + BigInt(i) * S + 310_657_565n;

async function read(path: string, o: Partial<LogReadOptions> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  await streamLogs(path, {
    follow: false,
    timestamps: false,
    isRunning: () => false,
    out: (s, d) => (s === 'stdout' ? out : err).push(d.toString()),
    ...o,
  });
  return { out: out.join(''), err: err.join('') };
}

const FIXTURE = [
  `${ts(0)} stdout F out1`,
  `${ts(0)} stdout P part`,
  `${ts(1)} stderr F err1`,
  `${ts(1)} stdout P ial `,
  `${ts(2, '100000000')} stdout F line`,
  `${ts(3, '000000000')} stdout F `,
  `${ts(4)} stderr P no newline at the end`,
].join('\n') + '\n';

describe('reading a k8s-file log', () => {
  it('sends each stream to its own output and joins partial records', async () => {
    const p = join(dir, 'ctr.log');
    writeFileSync(p, FIXTURE);
    const r = await read(p);
    expect(r.out).toBe('out1\npartial line\n\n');
    expect(r.err).toBe('err1\nno newline at the end');
  });

  it('prints nothing for a log that does not exist', async () => {
    expect(await read(join(dir, 'none.log'))).toEqual({ out: '', err: '' });
    expect(await read(join(dir, 'none.log'), { follow: true })).toEqual({ out: '', err: '' });
  });

  it('prefixes each line (not each record) with its time as Podman prints it', async () => {
    const p = join(dir, 'ctr.log');
    writeFileSync(p, FIXTURE + `${ts(5).replace('+00:00', '+01:00')} stdout F zoned\n`);
    const r = await read(p, { timestamps: true });
    expect(r.out).toBe(
      '2026-11-23T16:15:19.310657565Z out1\n' +
        '2026-11-23T16:15:19.310657565Z partial line\n' +
        '2026-11-23T16:15:22Z \n' +
        '2026-11-23T16:15:24.310657565+01:00 zoned\n',
    );
    expect(r.err).toBe('2026-11-23T16:15:20.310657565Z err1\n2026-11-23T16:15:23.310657565Z no newline at the end');
  });

  it('prefixes lines with the container for several containers', async () => {
    const p = join(dir, 'ctr.log');
    writeFileSync(p, FIXTURE);
    const r = await read(p, { prefix: 'c1 ' });
    expect(r.out).toBe('c1 out1\nc1 partial line\nc1 \n');
  });

  it('keeps records strictly after --since and strictly before --until', async () => {
    const p = join(dir, 'ctr.log');
    writeFileSync(p, FIXTURE);
    expect((await read(p, { since: at(0) })).out).toBe('ial line\n\n');
    expect((await read(p, { since: at(0) - 1n })).out).toBe('out1\npartial line\n\n');
    expect((await read(p, { until: at(1) })).out).toBe('out1\npart');
    expect(await read(p, { since: at(0), until: at(2) })).toEqual({ out: 'ial line\n', err: 'err1\n' });
  });

  it('--tail counts lines, not records, and ignores a record still being written', async () => {
    const p = join(dir, 'ctr.log');
    writeFileSync(p, FIXTURE + `${ts(6)} stdout F being writ`);
    expect(await read(p, { tail: 0 })).toEqual({ out: '', err: '' });
    expect(await read(p, { tail: 1 })).toEqual({ out: '', err: 'no newline at the end' });
    expect(await read(p, { tail: 2 })).toEqual({ out: '\n', err: 'no newline at the end' });
    expect(await read(p, { tail: 3 })).toEqual({ out: 'partial line\n\n', err: 'no newline at the end' });
    expect(await read(p, { tail: 100 })).toEqual(await read(p));
    // tail first, then the time filter (Podman's order)
    expect(await read(p, { tail: 3, since: at(2) })).toEqual({ out: '\n', err: 'no newline at the end' });
  });

  it('--tail reads a big log from its end', async () => {
    const p = join(dir, 'big.log');
    const lines: string[] = [];
    for (let i = 0; i < 30_000; i++) lines.push(`${ts(0)} ${i % 7 ? 'stdout' : 'stderr'} F line ${i} ${'x'.repeat(i % 50)}`);
    // and one line much longer than the read window, split into records as conmon does
    const long = 'y'.repeat(200_000);
    lines.push(`${ts(1)} stdout P ${long}`, `${ts(1)} stdout P ${long}`, `${ts(1)} stdout F end`);
    writeFileSync(p, lines.join('\n') + '\n');
    const all = await read(p);
    const tail = await read(p, { tail: 4 });
    const line = (i: number) => `line ${i} ${'x'.repeat(i % 50)}\n`;
    expect(tail.out).toBe(`${line(29997)}${line(29998)}${line(29999)}${long}${long}end\n`);
    expect(tail.err).toBe('');
    expect((await read(p, { tail: 6 })).err).toBe(line(29995));
    expect(all.out.endsWith(tail.out)).toBe(true);
    const t1000 = await read(p, { tail: 1000 });
    const allLines = (all.out + all.err).split('\n').length;
    expect((t1000.out + t1000.err).split('\n').length).toBeLessThan(allLines);
    expect(all.out.endsWith(t1000.out)).toBe(true);
  });
});

/** A process that appends records like conmon; rotation renames a fresh file over the log. */
function writer(path: string, script: string) {
  const child = spawn(process.execPath, ['-e', script, path], { stdio: 'ignore' });
  let alive = true;
  const exited = new Promise<void>((r) => child.on('exit', () => ((alive = false), r())));
  return { isRunning: () => alive, exited };
}

const WRITER_PRELUDE = `
const fs = require('fs');
const path = process.argv[1];
const rec = (stream, tag, text) => new Date().toISOString().replace('Z', '000000+00:00') + ' ' + stream + ' ' + tag + ' ' + text + '\\n';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
`;

describe('following a log', () => {
  it('reads what a writer appends until it stops, then returns', async () => {
    const p = join(dir, 'ctr.log');
    appendFileSync(p, `${ts(0)} stdout F before\n`);
    const w = writer(
      p,
      WRITER_PRELUDE +
        `(async () => {
          for (let i = 0; i < 40; i++) {
            fs.appendFileSync(path, rec('stdout', 'P', 'line ') + rec(i % 2 ? 'stderr' : 'stdout', 'F', String(i)));
            await sleep(5);
          }
        })();`,
    );
    const started = Date.now();
    const r = await read(p, { follow: true, isRunning: w.isRunning, pollMs: 50 });
    await w.exited;
    expect(Date.now() - started).toBeLessThan(10_000);
    const expected = ['before\n'];
    let err = '';
    for (let i = 0; i < 40; i++) {
      if (i % 2) {
        err += `${i}\n`;
        expected.push('line ');
      } else expected.push(`line ${i}\n`);
    }
    expect(r.out).toBe(expected.join(''));
    expect(r.err).toBe(err);
  });

  it('goes on with the new file when conmon rotates the log at max-size', async () => {
    const p = join(dir, 'ctr.log');
    appendFileSync(p, `${ts(0)} stdout F first\n`);
    const w = writer(
      p,
      WRITER_PRELUDE +
        `(async () => {
          let n = 0;
          for (let round = 0; round < 3; round++) {
            for (let i = 0; i < 10; i++) {
              fs.appendFileSync(path, rec('stdout', 'F', 'n' + n++));
              await sleep(3);
            }
            // conmon's reopen_k8s_file: a new file named .tmp, renamed over the log
            fs.writeFileSync(path + '.tmp', '');
            fs.renameSync(path + '.tmp', path);
          }
          fs.appendFileSync(path, rec('stdout', 'F', 'last'));
        })();`,
    );
    const r = await read(p, { follow: true, isRunning: w.isRunning, pollMs: 20 });
    const expected = ['first', ...Array.from({ length: 30 }, (_v, i) => `n${i}`), 'last'];
    expect(r.out.split('\n').filter(Boolean)).toEqual(expected);
  });

  it('starts over when the log is truncated in place', async () => {
    const p = join(dir, 'ctr.log');
    appendFileSync(p, `${ts(0)} stdout F a long first line to make the file longer than what follows\n`);
    let running = true;
    const out: string[] = [];
    const done = streamLogs(p, { follow: true, timestamps: false, isRunning: () => running, out: (_s, d) => out.push(d.toString()), pollMs: 20 });
    await new Promise((r) => setTimeout(r, 100));
    writeFileSync(p, `${ts(1)} stdout F short\n`);
    await new Promise((r) => setTimeout(r, 150));
    running = false;
    await done;
    expect(out.join('')).toBe('a long first line to make the file longer than what follows\nshort\n');
  });

  it('ends promptly once the container is not running', async () => {
    const p = join(dir, 'ctr.log');
    writeFileSync(p, FIXTURE);
    let running = true;
    const done = read(p, { follow: true, isRunning: () => running, pollMs: 100 });
    await new Promise((r) => setTimeout(r, 200));
    appendFileSync(p, `${ts(9)} stdout F written before it stopped\n`);
    running = false;
    const t = Date.now();
    const r = await done;
    expect(Date.now() - t).toBeLessThan(500);
    expect(r.out).toBe('out1\npartial line\n\nwritten before it stopped\n');
  });

  it('honours --tail, then follows', async () => {
    const p = join(dir, 'ctr.log');
    writeFileSync(p, FIXTURE);
    let running = true;
    const done = read(p, { follow: true, tail: 1, isRunning: () => running, pollMs: 20 });
    await new Promise((r) => setTimeout(r, 60));
    appendFileSync(p, `${ts(9)} stdout F new\n`);
    await new Promise((r) => setTimeout(r, 60));
    running = false;
    expect(await done).toEqual({ out: 'new\n', err: 'no newline at the end' });
  });
});
