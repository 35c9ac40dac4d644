// Detached containers held by conmon, and everything after `run -d`: wait,
// inspect, stop, kill, restart, exec, attach, terminals, restart policies,
// healthchecks, --init, killed selkie processes, many containers at once.
// Real containers as the unprivileged user.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBusybox, graphRoot, ok, ROOT, runRoot, selkie, SELKIE, selkieAsync, sessionMounts, tempDir, waitFor } from './helpers';

let IMG: string;
beforeAll(async () => {
  IMG = await ensureBusybox();
});
// This file's store is its own: whatever a failed test left running goes.
afterAll(() => {
  selkie(['rm', '-a', '-f']);
});

const inspect = (name: string, fmt: string) => ok(['inspect', '-f', fmt, name]).trim();

/**
 * sh as PID 1 drops a signal it has no trap for: wait until the script says
 * its trap is set (in /dev/shm, a tmpfs made anew at each start).
 */
const trapSet = (name: string) => waitFor(() => selkie(['exec', name, 'test', '-e', '/dev/shm/ready']).code === 0);

/** Runs argv under a real pseudo-terminal driven by test/integration/pty-driver.py. */
function pty(steps: unknown[], argv: string[], timeout = 60_000): { ok: boolean; failed_step: number | null; output: string; status: number | null } {
  const r = spawnSync('python3', [join(ROOT, 'test', 'integration', 'pty-driver.py'), JSON.stringify(steps), ...argv], { encoding: 'utf8', timeout });
  if (r.status !== 0) throw new Error(`pty driver failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

describe('detached containers', () => {
  it('outlive the selkie process that started them; wait and inspect from other processes see the exit', async () => {
    // It exits when told (not after a fixed time, which a slow machine could use up before the checks).
    const id = ok(['run', '-d', '--name', 'bg1', IMG, 'sh', '-c', 'until [ -e /tmp/go ]; do sleep 0.1; done; exit 7']).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    // The starting process has exited: the container runs on under conmon.
    expect(inspect('bg1', '{{.State.Status}}')).toBe('running');
    const conmon = Number(inspect('bg1', '{{.State.ConmonPid}}'));
    expect(conmon).toBeGreaterThan(0);
    expect(readFileSync(`/proc/${conmon}/cmdline`, 'utf8')).toContain('conmon');
    expect(ok(['ps', '--format', '{{.Names}}']).split('\n')).toContain('bg1');
    const waiting = selkieAsync(['wait', 'bg1']);
    ok(['exec', 'bg1', 'touch', '/tmp/go']);
    const waited = await waiting;
    expect(waited.stdout.trim()).toBe('7');
    expect(inspect('bg1', '{{.State.Status}} {{.State.ExitCode}}')).toBe('exited 7');
    // Nothing of it left mounted.
    expect(sessionMounts().filter((m) => m.includes(id))).toEqual([]);
    ok(['rm', 'bg1']);
    // Nothing of conmon's left behind either.
    expect(existsSync(join(runRoot(), 'socket', id))).toBe(false);
    expect(existsSync(join(runRoot(), 'exits', id))).toBe(false);
  });

  it('tells the truth after its monitor is killed: running while the process lives, exited after', async () => {
    const id = ok(['run', '-d', '--name', 'orphan', IMG, 'sleep', '1000']).trim();
    const conmon = Number(inspect('orphan', '{{.State.ConmonPid}}'));
    const pid = Number(inspect('orphan', '{{.State.Pid}}'));
    process.kill(conmon, 'SIGKILL');
    await waitFor(() => !existsSync(`/proc/${conmon}/cmdline`) || readFileSync(`/proc/${conmon}/stat`, 'utf8').includes(') Z'));
    expect(inspect('orphan', '{{.State.Status}}')).toBe('running');
    expect(ok(['ps', '--format', '{{.Names}}']).split('\n')).toContain('orphan');
    const waiting = selkieAsync(['wait', 'orphan']);
    process.kill(pid, 'SIGKILL');
    // Nobody recorded the exit code: Podman's -1 for "unknown".
    expect((await waiting).stdout.trim()).toBe('-1');
    expect(inspect('orphan', '{{.State.Status}}')).toBe('exited');
    ok(['rm', 'orphan']);
    expect(sessionMounts().filter((m) => m.includes(id))).toEqual([]);
  });

  it('records the exit with no selkie process around, and a foreground run under conmon keeps its logs', async () => {
    ok(['run', '-d', '--name', 'bg2', IMG, 'sh', '-c', 'exit 3']);
    await waitFor(() => selkie(['inspect', '-f', '{{.State.Status}}', 'bg2']).stdout.trim() === 'exited');
    expect(inspect('bg2', '{{.State.ExitCode}}')).toBe('3');
    const fg = selkie(['run', '--name', 'fg1', IMG, 'sh', '-c', 'echo to-out; echo to-err >&2; exit 4']);
    expect(fg.code).toBe(4);
    expect(fg.stdout).toBe('to-out\n');
    expect(fg.stderr).toBe('to-err\n');
    ok(['rm', 'bg2', 'fg1']);
  });

  it('stop sends the stop signal, then SIGKILL after the timeout to a container that ignores it', async () => {
    ok(['run', '-d', '--name', 'stubborn', IMG, 'sh', '-c', "trap '' TERM; while true; do sleep 0.1; done"]);
    const t0 = Date.now();
    ok(['stop', '-t', '2', 'stubborn']);
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(2000);
    expect(took).toBeLessThan(15_000);
    expect(inspect('stubborn', '{{.State.Status}} {{.State.ExitCode}}')).toBe('exited 137');
    // A container that honours SIGTERM stops at once (sh as PID 1 needs a trap).
    ok(['run', '-d', '--name', 'polite', '--stop-signal', 'USR1', IMG, 'sh', '-c', "trap 'exit 0' USR1; touch /dev/shm/ready; while true; do sleep 0.1; done"]);
    await trapSet('polite');
    const t1 = Date.now();
    ok(['stop', '-t', '10', 'polite']);
    expect(Date.now() - t1).toBeLessThan(5000);
    expect(inspect('polite', '{{.State.ExitCode}}')).toBe('0');
    ok(['rm', 'stubborn', 'polite']);
  });

  it('rm -f -t gives a running container its stop signal and the time first; rm -f kills it at once', () => {
    const dir = tempDir();
    try {
      chmodSync(dir, 0o777);
      const script = "trap 'echo bye > /out/$0; exit 0' TERM; while true; do sleep 0.1; done";
      ok(['run', '-d', '--name', 'rm-timed', '-v', `${dir}:/out`, IMG, 'sh', '-c', script, 'timed']);
      ok(['run', '-d', '--name', 'rm-killed', '-v', `${dir}:/out`, IMG, 'sh', '-c', script, 'killed']);
      ok(['rm', '-f', '-t', '10', 'rm-timed']);
      ok(['rm', '-f', 'rm-killed']);
      expect(readFileSync(join(dir, 'timed'), 'utf8')).toBe('bye\n');
      expect(existsSync(join(dir, 'killed'))).toBe(false);
      expect(selkie(['container', 'exists', 'rm-timed']).code).toBe(1);
      expect(selkie(['rm', '-f', '-t', 'soon', 'x']).stderr).toContain('invalid argument "soon" for "-t, --time" flag');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('start, restart, kill -s, rename, wait --condition', async () => {
    ok(['run', '-d', '--name', 'cycle', IMG, 'sh', '-c', "trap 'echo got-hup' HUP; touch /dev/shm/ready; while true; do sleep 0.1; done"]);
    const firstPid = inspect('cycle', '{{.State.Pid}}');
    ok(['restart', '-t', '0', 'cycle']);
    expect(inspect('cycle', '{{.State.Status}}')).toBe('running');
    expect(inspect('cycle', '{{.State.Pid}}')).not.toBe(firstPid);
    await trapSet('cycle');
    ok(['kill', '-s', 'HUP', 'cycle']);
    await waitFor(() => ok(['logs', 'cycle']).includes('got-hup'));
    expect(inspect('cycle', '{{.State.Status}}')).toBe('running');
    ok(['rename', 'cycle', 'cycle2']);
    expect(selkie(['inspect', 'cycle']).code).not.toBe(0);
    ok(['kill', 'cycle2']);
    expect(ok(['wait', '--condition', 'exited', 'cycle2']).trim()).toBe('137');
    ok(['start', 'cycle2']);
    expect(ok(['wait', '--condition', 'running', 'cycle2']).trim()).toBe('0');
    const bad = selkie(['kill', '-s', 'NOSUCH', 'cycle2']);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/invalid signal/);
    const pause = selkie(['pause', 'cycle2']);
    expect(pause.code).toBe(125);
    expect(pause.stderr).toMatch(/cgroup/);
    expect(selkie(['rm', 'cycle2']).code).toBe(2);
    ok(['rm', '-f', 'cycle2']);
  });
});

describe('logs', () => {
  it('keeps lines from before and after a restart; -f follows until the container exits', async () => {
    ok(['run', '-d', '--name', 'lg', IMG, 'sh', '-c', 'echo run-$$-$RANDOM; echo err-line >&2']);
    expect(ok(['wait', 'lg']).trim()).toBe('0');
    ok(['start', 'lg']);
    expect(ok(['wait', 'lg']).trim()).toBe('0');
    const all = selkie(['logs', 'lg']);
    const runs = all.stdout.split('\n').filter((l) => l.startsWith('run-'));
    expect(runs.length).toBe(2);
    expect(all.stderr).toBe('err-line\nerr-line\n');
    const tail = selkie(['logs', '--tail', '2', 'lg']);
    expect([tail.stdout, tail.stderr]).toEqual([`${runs[1]}\n`, 'err-line\n']);
    expect(ok(['logs', '-t', 'lg']).split('\n')[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) run-/);
    ok(['run', '-d', '--name', 'lgf', IMG, 'sh', '-c', 'for i in 1 2 3; do echo line$i; sleep 0.4; done']);
    const t0 = Date.now();
    const f = await selkieAsync(['logs', '-f', 'lgf']);
    expect(f.stdout).toBe('line1\nline2\nline3\n');
    expect(Date.now() - t0).toBeGreaterThan(500);
    ok(['run', '-d', '--name', 'lgnone', '--log-driver', 'none', IMG, 'echo', 'hidden']);
    const none = selkie(['logs', 'lgnone']);
    expect(none.code).toBe(125);
    expect(none.stderr).toMatch(/none' log driver/);
    const events = ok(['events', '--since', '1m', '--until', '0s', '--filter', 'container=lgf', '--format', '{{.Status}}']).split('\n').filter(Boolean);
    expect(events).toEqual(expect.arrayContaining(['create', 'start', 'died']));
    ok(['rm', '-f', 'lg', 'lgf', 'lgnone']);
  });
});

describe('exec', () => {
  it('runs in the container with -u, -e, -w and returns the exit code', () => {
    ok(['run', '-d', '--name', 'ex1', IMG, 'sleep', '1000']);
    expect(ok(['exec', '-u', '33', '-e', 'X=1', '-w', '/tmp', 'ex1', 'sh', '-c', 'id -u; echo $X; pwd'])).toBe('33\n1\n/tmp\n');
    expect(selkie(['exec', 'ex1', 'sh', '-c', 'exit 9']).code).toBe(9);
    expect(selkie(['exec', 'ex1', 'no-such-command']).code).toBe(127);
    expect(ok(['exec', '-i', 'ex1', 'cat'], { input: 'through stdin\n' })).toBe('through stdin\n');
    // Same user namespace as the container: the same uid_map.
    expect(ok(['exec', 'ex1', 'cat', '/proc/self/uid_map'])).toBe(ok(['exec', 'ex1', 'cat', '/proc/1/uid_map']));
    ok(['rm', '-f', 'ex1']);
    const stopped = selkie(['exec', 'ex1', 'true']);
    expect(stopped.code).toBe(125);
  });
});

describe('terminals', () => {
  it('exec -t: prompt, typed input, Ctrl-C, resize seen by stty size', () => {
    ok(['run', '-d', '--name', 'tty1', IMG, 'sleep', '1000']);
    const r = pty(
      [
        ['expect', '# ', 20],
        ['send', 'echo typed $((20+22))\r'],
        ['expect', 'typed 42'],
        ['resize', 33, 111],
        // Until the new size arrives (not a fixed wait); the echoed command cannot match the answer.
        ['send', 'until [ "$(stty size)" = "33 111" ]; do sleep 0.1; done; echo resized-$((40+2))\r'],
        ['expect', 'resized-42'],
        ['send', 'sleep 60\r'],
        ['sleep', 0.5],
        ['send', '\u0003'],
        ['expect', '\\^C[\\s\\S]*# '],
        ['send', 'exit 6\r'],
      ],
      [SELKIE, 'exec', '-it', 'tty1', 'sh'],
    );
    expect(r.ok, r.output).toBe(true);
    expect(r.status).toBe(6);
    ok(['rm', '-f', 'tty1']);
  });

  it('run -it: a real terminal; detach keys leave it running and attach comes back', () => {
    const r = pty(
      [
        ['expect', '# ', 20],
        ['send', 'tty\r'],
        ['expect', '/dev/pts/\\d'],
        ['resize', 20, 70],
        ['send', 'until [ "$(stty size)" = "20 70" ]; do sleep 0.1; done; echo resized-$((40+2))\r'],
        ['expect', 'resized-42'],
        ['send', '\u0010\u0011'],
      ],
      [SELKIE, 'run', '-it', '--name', 'tty2', IMG, 'sh'],
    );
    expect(r.ok, r.output).toBe(true);
    expect(r.status).toBe(0);
    expect(inspect('tty2', '{{.State.Status}}')).toBe('running');
    const back = pty([['sleep', 1], ['send', 'echo back $((1+1))\r'], ['expect', 'back 2'], ['send', 'exit 3\r']], [SELKIE, 'attach', 'tty2']);
    expect(back.ok, back.output).toBe(true);
    expect(back.status).toBe(3);
    expect(inspect('tty2', '{{.State.Status}} {{.State.ExitCode}}')).toBe('exited 3');
    ok(['rm', 'tty2']);
    const rm = pty([['expect', '# ', 20], ['send', 'exit 5\r']], [SELKIE, 'run', '-it', '--rm', '--name', 'tty3', IMG, 'sh']);
    expect(rm.status).toBe(5);
    expect(selkie(['container', 'exists', 'tty3']).code).toBe(1);
  });
});

describe('policies and checks', () => {
  it('restarts on failure up to the limit without a daemon', async () => {
    ok(['run', '-d', '--name', 'flaky', '--restart', 'on-failure:3', IMG, 'sh', '-c', 'echo attempt; exit 1']);
    // "3 exited" holds also between the third attempt's exit and the fourth's start: wait for the fourth's line too.
    const attempts = () => ok(['logs', 'flaky']).match(/attempt/g)?.length ?? 0;
    await waitFor(() => attempts() >= 4 && inspect('flaky', '{{.RestartCount}} {{.State.Status}}') === '3 exited', 30_000);
    await new Promise((r) => setTimeout(r, 500)); // time for a wrong fifth attempt to show
    expect(inspect('flaky', '{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}')).toBe('3 exited 1');
    expect(attempts()).toBe(4);
    expect(inspect('flaky', '{{.HostConfig.RestartPolicy.Name}}')).toBe('on-failure');
    // always: a container stopped by the user stays stopped.
    ok(['run', '-d', '--name', 'always', '--restart', 'always', IMG, 'sleep', '1000']);
    ok(['stop', '-t', '0', 'always']);
    await new Promise((r) => setTimeout(r, 500));
    expect(inspect('always', '{{.State.Status}}')).toBe('exited');
    expect(selkie(['run', '--rm', '--restart', 'always', IMG, 'true']).code).toBe(125);
    ok(['rm', 'flaky', 'always']);
  });

  it('healthchecks run on their interval and show in inspect and ps', async () => {
    ok(['run', '-d', '--name', 'hc', '--health-cmd', 'test -e /tmp/ready', '--health-interval', '1s', '--health-retries', '2', IMG, 'sleep', '1000']);
    await waitFor(() => inspect('hc', '{{.State.Health.Status}}') === 'unhealthy', 20_000);
    expect(ok(['ps', '--format', '{{.Names}} {{.Status}}'])).toMatch(/hc Up .* \(unhealthy\)/);
    expect(selkie(['healthcheck', 'run', 'hc']).code).toBe(1);
    ok(['exec', 'hc', 'touch', '/tmp/ready']);
    await waitFor(() => inspect('hc', '{{.State.Health.Status}}') === 'healthy', 20_000);
    expect(selkie(['healthcheck', 'run', 'hc']).code).toBe(0);
    expect(inspect('hc', '{{.State.Health.FailingStreak}}')).toBe('0');
    ok(['rm', '-f', 'hc']);
  });

  it('--init reaps zombies; limits that cannot be enforced are refused', () => {
    // sh -c 'sleep & exec sleep': the orphaned sleep is reaped by catatonit, not left a zombie.
    ok(['run', '-d', '--name', 'reaper', '--init', IMG, 'sh', '-c', '(sleep 0.2 &) ; exec sleep 1000']);
    spawnSync('sleep', ['1']);
    const ps = ok(['exec', 'reaper', 'ps', '-o', 'pid,stat,comm']);
    expect(ps).toMatch(/podman-init|catatonit/);
    expect(ps).not.toMatch(/\sZ\s/);
    ok(['rm', '-f', 'reaper']);
    const lim = selkie(['run', '--rm', '--memory', '64m', IMG, 'true']);
    expect(lim.code).toBe(125);
    expect(lim.stderr).toMatch(/--memory: resource limits cannot be enforced|cannot be enforced/);
  });

  it('--tmpfs, --add-host, --ulimit, --annotation reach the container', () => {
    const out = ok([
      'run', '--rm', '--tmpfs', '/scratch:size=1m', '--add-host', 'db.local:10.1.2.3', '--ulimit', 'nofile=512:1024', '--device', '/dev/fuse', IMG,
      'sh', '-c', 'grep /scratch /proc/mounts | cut -d" " -f3; grep db.local /etc/hosts; ulimit -n; test -c /dev/fuse && echo fuse-dev',
    ]);
    expect(out).toBe('tmpfs\n10.1.2.3\tdb.local\n512\nfuse-dev\n');
    expect(ok(['port', '--all'])).toBe('');
    ok(['create', '--name', 'ann', '--annotation', 'team=blue', IMG, 'true']);
    expect(inspect('ann', '{{.Config.Annotations.team}}')).toBe('blue');
    ok(['rm', 'ann']);
  });
});

describe('top, ps filters, prune', () => {
  it('lists processes and filters containers', () => {
    ok(['run', '-d', '--name', 'topme', '-l', 'tier=web', IMG, 'sleep', '1000']);
    ok(['exec', '-d', 'topme', 'sleep', '999']);
    const top = ok(['top', 'topme']);
    expect(top.split('\n')[0]).toMatch(/^USER\s+PID\s+PPID\s+%CPU\s+ELAPSED\s+TTY\s+TIME\s+COMMAND/);
    expect(top).toMatch(/root\s+1\s+0\s.*sleep 1000/);
    expect(top).toMatch(/sleep 999/);
    const idle = ok(['create', '--name', 'idle', IMG, 'true']).trim();
    expect(ok(['ps', '-a', '--filter', 'label=tier=web', '--format', '{{.Names}}']).trim()).toBe('topme');
    expect(ok(['ps', '--filter', 'status=created', '--format', '{{.Names}}']).trim()).toBe('idle');
    expect(ok(['ps', '-a', '--filter', 'name=^top', '--filter', 'name=^idle$', '--format', '{{.Names}}']).trim().split('\n').sort()).toEqual(['idle', 'topme']);
    const pruned = ok(['container', 'prune', '-f']);
    expect(pruned.split('\n')).toContain(idle);
    expect(selkie(['container', 'exists', 'idle']).code).toBe(1);
    expect(selkie(['container', 'exists', 'topme']).code).toBe(0);
    ok(['rm', '-f', 'topme']);
  });
});

describe('crashes and concurrency', () => {
  it('a late exit command of an earlier run leaves the next run alone while another process starts it', () => {
    const id = ok(['create', '--name', 'late', IMG, 'sleep', '1000']).trim();
    // The record as a start in another process leaves it before the runtime
    // takes over: running, held by that (live) process, no init yet.
    const starter = spawn('sleep', ['60'], { stdio: 'ignore' });
    const file = join(graphRoot(), 'containers', id, 'container.json');
    try {
      const stat = readFileSync(`/proc/${starter.pid}/stat`, 'utf8');
      const started = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
      const rec = JSON.parse(readFileSync(file, 'utf8'));
      rec.state = { status: 'running', startedAt: '2026-01-01T00:00:02.000Z', monitorPid: starter.pid, monitorStart: started };
      writeFileSync(file, JSON.stringify(rec));
      // conmon of the run before reports its end, late
      ok(['container', 'cleanup', '--run', '2026-01-01T00:00:01.000Z', id]);
      expect(inspect('late', '{{.State.Status}}')).toBe('running');
      ok(['ps']);
      expect(inspect('late', '{{.State.Status}}')).toBe('running');
    } finally {
      starter.kill('SIGKILL');
    }
    // The starting process died halfway: now the container has ended, its code unknown.
    expect(ok(['wait', 'late']).trim()).toBe('-1');
    ok(['rm', 'late']);
  });

  it('a selkie killed in the middle of run -d or stop leaves state that ps, rm -f and a new run handle', async () => {
    for (const delay of [40, 120, 300]) {
      const child = spawn(SELKIE, ['run', '-d', '--name', `half${delay}`, IMG, 'sleep', '1000'], { stdio: 'ignore' });
      const closed = new Promise((r) => child.on('close', r));
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGKILL');
      await closed;
    }
    ok(['run', '-d', '--name', 'tostop', IMG, 'sleep', '1000']);
    const stopper = spawn(SELKIE, ['stop', '-t', '5', 'tostop'], { stdio: 'ignore' });
    const stopped = new Promise((r) => stopper.on('close', r));
    await new Promise((r) => setTimeout(r, 300));
    stopper.kill('SIGKILL');
    await stopped;
    const ps = selkie(['ps', '-a', '--no-trunc', '--format', '{{.Names}} {{.ID}}']);
    expect(ps.code).toBe(0);
    const ids = ps.stdout.split('\n').filter((l) => /^(half|tostop)/.test(l)).map((l) => l.split(' ')[1]);
    expect(ids.length).toBeGreaterThan(0);
    for (const name of ['half40', 'half120', 'half300', 'tostop']) {
      if (selkie(['container', 'exists', name]).code === 0) ok(['rm', '-f', name]);
    }
    expect(ok(['ps', '-a', '--format', '{{.Names}}']).split('\n').filter((n) => /^half|^tostop/.test(n))).toEqual([]);
    // Nothing of them is still running or mounted.
    expect(sessionMounts().filter((m) => ids.some((id) => m.includes(id)))).toEqual([]);
    expect(ok(['run', '--rm', IMG, 'echo', 'fine'])).toBe('fine\n');
    ok(['run', '-d', '--name', 'half40', IMG, 'true']);
    ok(['rm', '-f', 'half40']);
  });

  it('20 detached containers started, listed, stopped and removed concurrently stay consistent', async () => {
    const names = Array.from({ length: 20 }, (_, i) => `many${i}`);
    const started = await Promise.all(names.map((n) => selkieAsync(['run', '-d', '--name', n, IMG, 'sleep', '1000'])));
    for (const s of started) expect(s.code, s.stderr).toBe(0);
    const ids = started.map((s) => s.stdout.trim());
    expect(new Set(ids).size).toBe(20);
    const lists = await Promise.all([1, 2, 3].map(() => selkieAsync(['ps', '--format', '{{.Names}}'])));
    for (const l of lists) expect(l.stdout.split('\n').filter((n) => n.startsWith('many')).sort()).toEqual([...names].sort());
    const blocks = names.map((n) => inspect(n, '{{.IDBlock}}'));
    expect(new Set(blocks).size).toBe(20);
    const stops = await Promise.all(names.map((n) => selkieAsync(['stop', '-t', '0', n])));
    for (const s of stops) expect(s.code, s.stderr).toBe(0);
    expect(ok(['ps', '-a', '--filter', 'status=running', '--format', '{{.Names}}']).split('\n').filter((n) => n.startsWith('many'))).toEqual([]);
    const rms = await Promise.all(names.map((n) => selkieAsync(['rm', n])));
    for (const s of rms) expect(s.code, s.stderr).toBe(0);
    expect(ok(['ps', '-a', '--format', '{{.Names}}']).split('\n').filter((n) => n.startsWith('many'))).toEqual([]);
    for (const id of ids) expect(existsSync(join(graphRoot(), 'containers', id))).toBe(false);
  }, 180_000);
});
