// `selkie events` (the events log other selkie processes write) and
// `selkie logs` over k8s-file logs as conmon writes them.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBusybox, graphRoot, ok, selkie, selkieAsync, tempDir } from './helpers';

let IMG: string;
beforeAll(async () => {
  IMG = await ensureBusybox();
});

const TIME = '\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})? [+-]\\d{4} \\S+';
const unique = (prefix: string) => `${prefix}-${process.pid}-${Date.now() % 100000}`;

describe('events', () => {
  it('shows the create and remove of a container made and removed by other processes', () => {
    const name = unique('ev');
    const id = ok(['create', '--name', name, '-l', 'team=blue', IMG, 'true']).trim();
    ok(['rm', name]);

    const started = Date.now();
    const human = ok(['events', '--since', '1m', '--until', '0s', '--filter', `container=${name}`]);
    expect(Date.now() - started).toBeLessThan(10_000);
    const lines = human.split('\n').filter(Boolean);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^${TIME} container create ${id} \\(image=${IMG}, name=${name}, team=blue\\)$`));
    expect(lines[1]).toMatch(new RegExp(`^${TIME} container remove ${id} \\(image=${IMG}, name=${name}, team=blue\\)$`));

    // filters: the same key is OR, different keys AND
    const f = (...args: string[]) => ok(['events', '--since', '1m', '--stream=false', '--filter', `container=${name}`, ...args]).split('\n').filter(Boolean);
    expect(f('--filter', 'event=create', '--filter', 'event=remove')).toHaveLength(2);
    expect(f('--filter', 'event=remove')).toHaveLength(1);
    expect(f('--filter', 'type=image')).toHaveLength(0);
    expect(f('--filter', 'label=team=blue', '--filter', 'event=create')).toHaveLength(1);
    expect(f('--filter', 'label=team=red')).toHaveLength(0);
    expect(f('--format', '{{.Status}}|{{.Name}}|{{.Type}}')).toEqual([`create|${name}|container`, `remove|${name}|container`]);

    const json = f('--format', 'json', '--filter', 'event=create');
    expect(json).toHaveLength(1);
    expect(json[0]).toMatch(/"time":\d{10},"timeNano":\d{19},/);
    const ev = JSON.parse(json[0]);
    expect(ev).toMatchObject({ ID: id, Image: IMG, Name: name, Status: 'create', Type: 'container', Attributes: { team: 'blue' } });
    expect(Object.keys(ev)).toEqual(['ID', 'Image', 'Name', 'Status', 'time', 'timeNano', 'Type', 'Attributes']);
    expect(Math.abs(ev.time * 1000 - Date.now())).toBeLessThan(120_000);
  });

  it('records image tag and untag', () => {
    const tag = `localhost/${unique('evtag')}:1`;
    ok(['tag', IMG, tag]);
    ok(['rmi', tag]);
    const out = ok(['events', '--since', '1m', '--until', '0s', '--filter', `image=${tag}`, '--format', '{{.Status}} {{.Name}}']);
    expect(out).toBe(`tag ${tag}\nuntag ${tag}\n`);
  });

  it('streams events as other processes record them, until --until', async () => {
    const name = unique('evs');
    // Started before the events, with time to spare for them on a slow machine.
    const follower = selkieAsync(['events', '--until', '10s', '--filter', `container=${name}`, '--format', '{{.Status}} {{.Name}}']);
    await new Promise((r) => setTimeout(r, 1500));
    ok(['create', '--name', name, IMG, 'true']);
    ok(['rm', name]);
    const r = await follower;
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`create ${name}\nremove ${name}\n`);
  });

  it("refuses an unknown filter and a bad time with Podman's words", () => {
    const bad = selkie(['events', '--stream=false', '--filter', 'colour=red']);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toBe('Error: colour is an invalid filter\n');
    const time = selkie(['events', '--since', 'yesterday', '--stream=false']);
    expect(time.code).toBe(125);
    expect(time.stderr).toMatch(/unable to interpret time value/);
  });
});

// k8s-file records as conmon 2.1.6 writes them
const T0 = '2026-11-23T16:15:19.310657565+00:00';
const T1 = '2026-11-23T16:15:20.000000001+00:00';
const T2 = '2026-11-23T16:15:21.5+00:00';
const LOG = [`${T0} stdout F hello`, `${T0} stdout P wor`, `${T1} stderr F oops`, `${T1} stdout F ld`, `${T2} stdout F bye`].join('\n') + '\n';

function recordPath(id: string): string {
  return join(graphRoot(), 'containers', id, 'container.json');
}

describe('logs', () => {
  it('prints nothing for a container that never ran, with or without -f', () => {
    const id = ok(['create', IMG, 'true']).trim();
    try {
      expect(selkie(['logs', id])).toEqual({ code: 0, stdout: '', stderr: '' });
      const started = Date.now();
      expect(selkie(['logs', '-f', id])).toEqual({ code: 0, stdout: '', stderr: '' });
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      ok(['rm', id]);
    }
  });

  it('reads the k8s-file log at the container\'s log path', () => {
    const id = ok(['create', IMG, 'true']).trim();
    try {
      writeFileSync(join(graphRoot(), 'containers', id, 'ctr.log'), LOG);
      expect(selkie(['logs', id])).toEqual({ code: 0, stdout: 'hello\nworld\nbye\n', stderr: 'oops\n' });
      expect(selkie(['logs', '--tail', '2', id])).toEqual({ code: 0, stdout: 'world\nbye\n', stderr: '' });
      expect(selkie(['logs', '--tail=-1', id]).stdout).toBe('hello\nworld\nbye\n');
      expect(selkie(['logs', '--since', '2026-11-23T16:15:19.310657565Z', id])).toEqual({ code: 0, stdout: 'ld\nbye\n', stderr: 'oops\n' });
      expect(selkie(['logs', '--until', '1795450520', id])).toEqual({ code: 0, stdout: 'hello\nwor', stderr: '' });
      expect(selkie(['logs', '-t', '--tail', '1', id]).stdout).toBe('2026-11-23T16:15:21.5Z bye\n');
      expect(selkie(['logs', '-t', id]).stdout).toBe(
        '2026-11-23T16:15:19.310657565Z hello\n2026-11-23T16:15:19.310657565Z world\n2026-11-23T16:15:21.5Z bye\n',
      );
      // the container is not running: follow reads what there is and returns
      const started = Date.now();
      expect(selkie(['logs', '-f', id])).toEqual({ code: 0, stdout: 'hello\nworld\nbye\n', stderr: 'oops\n' });
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(selkie(['container', 'logs', '--tail', '1', id]).stdout).toBe('bye\n');
    } finally {
      ok(['rm', id]);
    }
  });

  it('prefixes the lines of several containers with their IDs or names', () => {
    const a = unique('la');
    const b = unique('lb');
    const ida = ok(['create', '--name', a, IMG, 'true']).trim();
    const idb = ok(['create', '--name', b, IMG, 'true']).trim();
    try {
      writeFileSync(join(graphRoot(), 'containers', ida, 'ctr.log'), `${T0} stdout F from a\n`);
      writeFileSync(join(graphRoot(), 'containers', idb, 'ctr.log'), `${T1} stdout F from b\n`);
      expect(ok(['logs', a, b])).toBe(`${ida.slice(0, 12)} from a\n${idb.slice(0, 12)} from b\n`);
      expect(ok(['logs', '-n', a, b])).toBe(`${a} from a\n${b} from b\n`);
    } finally {
      ok(['rm', a, b]);
    }
  });

  it('reads --log-opt path, and refuses the none log driver as Podman does', () => {
    const id = ok(['create', IMG, 'true']).trim();
    const dir = tempDir();
    try {
      const elsewhere = join(dir, 'elsewhere.log');
      writeFileSync(elsewhere, `${T0} stdout F from the path option\n`);
      // the run side (conmon) is not on this branch: set the options in the record
      const rec = JSON.parse(readFileSync(recordPath(id), 'utf8'));
      rec.config.logOpts = { path: elsewhere };
      writeFileSync(recordPath(id), JSON.stringify(rec));
      expect(ok(['logs', id])).toBe('from the path option\n');

      rec.config.logDriver = 'none';
      writeFileSync(recordPath(id), JSON.stringify(rec));
      const r = selkie(['logs', id]);
      expect(r.code).toBe(125);
      expect(r.stderr).toBe("Error: this container is using the 'none' log driver, cannot read logs: this container is not logging output\n");
    } finally {
      ok(['rm', id]);
    }
  });

  it("fails as Podman's logs does", () => {
    const missing = selkie(['logs', 'no-such-container']);
    expect(missing.code).toBe(125);
    expect(missing.stderr).toBe('Error: no container with name or ID "no-such-container" found: no such container\n');
    const none = selkie(['logs']);
    expect(none.code).toBe(125);
    expect(none.stderr).toBe('Error: specify at least one container name or ID to log\n');
    const since = selkie(['logs', '--since', 'soon', 'x']);
    expect(since.code).toBe(125);
    expect(since.stderr).toBe('Error: parsing --since "soon": unable to interpret time value\n');
  });
});
