// The events log: Podman's file format, appends from many processes, rotation,
// and readers that follow it.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildSync } from 'esbuild';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decodeEvent, encodeEvent, eventsLogPath, recordEvent, type SelkieEvent } from '../../src/state/events';
import { readEvents } from '../../src/state/events-read';

const ROOT = resolve(__dirname, '..', '..');
let runRoot: string;
beforeEach(() => {
  runRoot = mkdtempSync(join(tmpdir(), 'selkie-events-'));
});
afterEach(() => rmSync(runRoot, { recursive: true, force: true }));

const lines = () => readFileSync(eventsLogPath(runRoot), 'utf8').split('\n').filter(Boolean);

describe("Podman's file format", () => {
  it('writes the field names and order of the file backend', () => {
    const ev: SelkieEvent = {
      type: 'container',
      status: 'died',
      id: 'f1304f98d19c8c497c2b3903a5dc89a955b9ce5fcf151df97223f3bcacedd5b9',
      name: 't1',
      image: 'localhost/bb:latest',
      containerExitCode: 3,
      attributes: { team: 'a' },
      time: 1_795_450_519_354_640_629n,
    };
    expect(encodeEvent(ev)).toBe(
      '{"ContainerExitCode":3,"ID":"f1304f98d19c8c497c2b3903a5dc89a955b9ce5fcf151df97223f3bcacedd5b9","Image":"localhost/bb:latest",' +
        '"Name":"t1","Status":"died","Time":"2026-11-23T16:15:19.354640629Z","Type":"container","Attributes":{"team":"a"}}',
    );
    expect(decodeEvent(encodeEvent(ev))).toEqual(ev);
    expect(encodeEvent({ type: 'image', status: 'loadfromarchive', name: '/tmp/x.tar', time: 1_795_450_519_000_000_000n })).toBe(
      '{"Name":"/tmp/x.tar","Status":"loadfromarchive","Time":"2026-11-23T16:15:19Z","Type":"image","Attributes":null}',
    );
  });

  it("reads what Podman's file backend writes", () => {
    const line =
      '{"ID":"de265a524b1f","Name":"localhost/bb2","Status":"tag","Time":"2026-11-23T17:16:44.786522213+01:00","Type":"image","Attributes":null}';
    expect(decodeEvent(line)).toEqual({
      type: 'image',
      status: 'tag',
      id: 'de265a524b1f',
      name: 'localhost/bb2',
      time: 1_795_450_604_786_522_213n,
      image: undefined,
      network: undefined,
      attributes: undefined,
      containerExitCode: undefined,
      healthStatus: undefined,
      error: undefined,
      podId: undefined,
    });
    for (const bad of ['', '{', 'null', '[]', '{"Status":"x","Type":"image"}', '{"Status":"x","Type":"image","Time":"yesterday"}']) {
      expect(decodeEvent(bad), bad).toBeUndefined();
    }
  });
});

describe('recording events', () => {
  it('appends one line per event with the time it happened', () => {
    const before = BigInt(Date.now()) * 1_000_000n;
    recordEvent(runRoot, { type: 'container', status: 'create', id: 'abc', name: 'n', image: 'i', attributes: {} });
    recordEvent({ paths: { runRoot } }, { type: 'image', status: 'pull', id: 'def', name: 'docker.io/library/busybox' });
    const evs = lines().map((l) => decodeEvent(l)!);
    expect(evs.map((e) => `${e.type} ${e.status} ${e.id}`)).toEqual(['container create abc', 'image pull def']);
    expect(evs[0].time).toBeGreaterThanOrEqual(before - 1_000_000n);
    expect(evs[1].time).toBeGreaterThanOrEqual(evs[0].time);
    expect(statSync(eventsLogPath(runRoot)).mode & 0o777).toBe(0o600);
  });

  it('keeps a line below a page: attributes go before the event does', () => {
    const big = Object.fromEntries(Array.from({ length: 100 }, (_v, i) => [`label${i}`, 'v'.repeat(50)]));
    recordEvent(runRoot, { type: 'container', status: 'create', id: 'abc', attributes: big });
    recordEvent(runRoot, { type: 'container', status: 'create', id: 'x'.repeat(5000) });
    const all = lines();
    expect(all).toHaveLength(1);
    expect(decodeEvent(all[0])!.attributes).toEqual({});
  });

  it('never throws, whatever is wrong with the runroot', () => {
    const file = join(runRoot, 'a-file');
    writeFileSync(file, '');
    expect(() => recordEvent(file, { type: 'system', status: 'refresh' })).not.toThrow();
    const ro = join(runRoot, 'ro');
    mkdirSync(join(ro, 'events'), { recursive: true });
    chmodSync(join(ro, 'events'), 0o500);
    expect(() => recordEvent(ro, { type: 'system', status: 'refresh' })).not.toThrow();
  });

  it('keeps the newer half past the size limit, and says so', () => {
    for (let i = 0; i < 400; i++) recordEvent(runRoot, { type: 'container', status: 'create', id: `c${i}` }, { maxSize: 16 * 1024 });
    const size = statSync(eventsLogPath(runRoot)).size;
    expect(size).toBeLessThanOrEqual(16 * 1024 + 200);
    const evs = lines().map((l) => decodeEvent(l));
    expect(evs.every((e) => e !== undefined)).toBe(true);
    expect(evs.some((e) => e!.type === 'system' && e!.status === 'log-rotation')).toBe(true);
    const ids = evs.filter((e) => e!.type === 'container').map((e) => Number(e!.id!.slice(1)));
    expect(ids[ids.length - 1]).toBe(399);
    // what is kept is contiguous and the newest
    expect(ids).toEqual(Array.from({ length: ids.length }, (_v, i) => 400 - ids.length + i));
  });
});

describe('many writers', () => {
  let writerJs: string;
  beforeAll(() => {
    // a writer process with selkie's real recordEvent (and its flock)
    const outdir = join(ROOT, 'build', 'test');
    mkdirSync(outdir, { recursive: true });
    writerJs = join(outdir, 'events-writer.js');
    buildSync({
      stdin: {
        contents: `const { recordEvent } = require(${JSON.stringify(join(ROOT, 'src/state/events.ts'))});
const [runRoot, who, count, maxSize] = process.argv.slice(2);
for (let i = 0; i < Number(count); i++) recordEvent(runRoot, { type: 'container', status: 'create', id: who + '-' + i, name: 'x'.repeat(i % 300) }, { maxSize: Number(maxSize) });`,
        resolveDir: ROOT,
        loader: 'js',
      },
      bundle: true,
      platform: 'node',
      format: 'cjs',
      external: ['*.node'],
      outfile: writerJs,
      logLevel: 'error',
    });
  });

  const run = (who: string, count: number, maxSize: number) =>
    new Promise<number | null>((r) => spawn(process.execPath, [writerJs, runRoot, who, String(count), String(maxSize)], { stdio: 'inherit' }).on('exit', r));

  it('never interleaves lines of concurrent processes', async () => {
    const codes = await Promise.all(['a', 'b', 'c', 'd'].map((w) => run(w, 250, 64 * 1024 * 1024)));
    expect(codes).toEqual([0, 0, 0, 0]);
    const evs = lines().map((l) => decodeEvent(l));
    expect(evs).toHaveLength(1000);
    for (const w of ['a', 'b', 'c', 'd']) {
      // each writer's events, complete and in its order
      expect(evs.filter((e) => e!.id!.startsWith(`${w}-`)).map((e) => e!.id)).toEqual(Array.from({ length: 250 }, (_v, i) => `${w}-${i}`));
    }
  });

  it('rotates under concurrent appends without tearing a line', async () => {
    await Promise.all(['a', 'b', 'c'].map((w) => run(w, 300, 32 * 1024)));
    const all = lines();
    expect(all.every((l) => decodeEvent(l) !== undefined)).toBe(true);
    expect(statSync(eventsLogPath(runRoot)).size).toBeLessThan(40 * 1024);
    // rotation cuts the file by position: what is left of each writer is the
    // end of its sequence, with nothing lost in between (no append went to a
    // file that rotation replaced)
    const ids = all.map((l) => decodeEvent(l)!.id ?? '');
    let kept = 0;
    for (const w of ['a', 'b', 'c']) {
      const mine = ids.filter((id) => id.startsWith(`${w}-`)).map((id) => Number(id.slice(2)));
      kept += mine.length;
      expect(mine).toEqual(Array.from({ length: mine.length }, (_v, i) => 300 - mine.length + i));
    }
    expect(kept).toBeGreaterThan(50);
  });
});

describe('reading events', () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('reads the past ones, or only new ones', async () => {
    recordEvent(runRoot, { type: 'image', status: 'tag', id: 'old' });
    const past: string[] = [];
    await readEvents(runRoot, { fromStart: true, follow: false, onEvent: (e) => past.push(e.id!) });
    expect(past).toEqual(['old']);

    const fresh: string[] = [];
    let stop = false;
    const done = readEvents(runRoot, { fromStart: false, follow: true, stop: () => stop, pollMs: 20, onEvent: (e) => fresh.push(e.id!) });
    await sleep(50);
    recordEvent(runRoot, { type: 'image', status: 'tag', id: 'new' });
    await sleep(100);
    stop = true;
    await done;
    expect(fresh).toEqual(['new']);
  });

  it('reads a log that does not exist yet as empty, and follows it once it does', async () => {
    const seen: string[] = [];
    let stop = false;
    const done = readEvents(runRoot, { fromStart: false, follow: true, stop: () => stop, pollMs: 20, onEvent: (e) => seen.push(e.id!) });
    await sleep(50);
    recordEvent(runRoot, { type: 'image', status: 'tag', id: 'first' });
    await sleep(100);
    stop = true;
    await done;
    expect(seen).toEqual(['first']);
  });

  it('follows across rotations, losing and repeating nothing', async () => {
    const seen: string[] = [];
    let stop = false;
    const done = readEvents(runRoot, {
      fromStart: true,
      follow: true,
      stop: () => stop,
      pollMs: 10,
      onEvent: (e) => seen.push(e.type === 'system' ? 'rotation' : e.id!),
    });
    for (let i = 0; i < 300; i++) {
      recordEvent(runRoot, { type: 'container', status: 'create', id: `c${i}` }, { maxSize: 8 * 1024 });
      if (i % 10 === 9) await sleep(30);
    }
    await sleep(100);
    stop = true;
    await done;
    const ids = seen.filter((s) => s !== 'rotation');
    expect(ids).toEqual(Array.from({ length: 300 }, (_v, i) => `c${i}`));
    expect(seen.filter((s) => s === 'rotation').length).toBeGreaterThan(3);
  });
});
