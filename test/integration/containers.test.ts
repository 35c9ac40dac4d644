// create / start / ps / inspect / rm and the state other selkie processes see.
import { execFileSync, spawn } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBusybox, ok, selkie, SELKIE, sessionMounts, waitFor, newContainerMounts } from './helpers';

let IMG: string;
beforeAll(async () => {
  IMG = await ensureBusybox();
});


describe('container lifecycle', () => {
  it('creates, lists, starts attached, inspects and removes', () => {
    selkie(['rm', '-f', 'c1']);
    const id = ok(['create', '--name', 'c1', '-l', 'team=a', IMG, 'sh', '-c', 'echo started; exit 4']).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const row = ok(['ps', '-a', '--format', '{{.ID}} {{.Names}} {{.Status}} {{.Image}}']).split('\n').find((l) => l.includes(' c1 '));
    expect(row).toBe(`${id.slice(0, 12)} c1 Created ${IMG}`);
    expect(ok(['ps', '-q'])).not.toContain(id.slice(0, 12));
    const start = selkie(['start', '-a', 'c1']);
    expect(start.stdout).toBe('started\n');
    expect(start.code).toBe(4);
    const state = JSON.parse(ok(['inspect', 'c1']))[0];
    expect(state.Id).toBe(id);
    expect(state.Name).toBe('c1');
    expect(state.State.Status).toBe('exited');
    expect(state.State.ExitCode).toBe(4);
    expect(state.Config.Labels.team).toBe('a');
    expect(state.Path).toBe('sh');
    expect(state.Args).toEqual(['-c', 'echo started; exit 4']);
    expect(ok(['inspect', '-f', '{{.State.ExitCode}} {{.Config.Hostname}}', 'c1']).trim()).toBe(`4 ${id.slice(0, 12)}`);
    const status = ok(['ps', '-a', '--format', '{{.Names}} {{.Status}}']).split('\n').find((l) => l.startsWith('c1 '));
    expect(status).toMatch(/^c1 Exited \(4\) .*ago$/);
    // the same name cannot be taken twice
    const dup = selkie(['create', '--name', 'c1', IMG, 'true']);
    expect(dup.code).toBe(125);
    expect(dup.stderr).toMatch(/already in use/);
    expect(ok(['rm', 'c1'])).toBe('c1\n');
    const gone = selkie(['rm', 'c1']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/no such container/);
    expect(selkie(['inspect', 'c1']).code).toBe(125);
  });

  it('shows a running container and its PID to other selkie processes; rm needs -f', async () => {
    const mountsBefore = new Set(sessionMounts());
    selkie(['rm', '-f', 'live']);
    const run = spawn(SELKIE, ['run', '--name', 'live', IMG, 'sleep', '30']);
    const pid = () => Number(selkie(['inspect', '-f', '{{.State.Pid}}', 'live']).stdout.trim() || 0);
    await waitFor(() => pid() > 0);
    expect(ok(['inspect', '-f', '{{.State.Status}} {{.State.Running}}', 'live']).trim()).toBe('running true');
    // the PID is the container's init as the host sees it
    const cmdline = execFileSync('cat', [`/proc/${pid()}/cmdline`], { encoding: 'utf8' }).split('\0');
    expect(cmdline.slice(0, 2)).toEqual(['sleep', '30']);
    expect(ok(['ps', '--format', '{{.Names}}']).split('\n')).toContain('live');
    const refused = selkie(['rm', 'live']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/cannot remove container .* as it is running/);
    const exited = new Promise<number | null>((r) => run.on('exit', (c) => r(c)));
    expect(ok(['rm', '-f', 'live'])).toBe('live\n');
    expect(await exited).not.toBe(0);
    expect(newContainerMounts(mountsBefore)).toEqual([]);
  });

  it('recovers when selkie is killed while its container runs', async () => {
    const mountsBefore = new Set(sessionMounts());
    selkie(['rm', '-f', 'orphan']);
    const run = spawn(SELKIE, ['run', '--name', 'orphan', IMG, 'sleep', '30'], { stdio: 'ignore' });
    const pid = () => Number(selkie(['inspect', '-f', '{{.State.Pid}}', 'orphan']).stdout.trim() || 0);
    await waitFor(() => pid() > 0);
    const ctrPid = pid();
    run.kill('SIGKILL');
    await new Promise((r) => run.on('exit', r));
    // the record is consistent whatever became of the runtime, and rm -f cleans everything up
    const status = ok(['ps', '-a', '--format', '{{.Names}} {{.State}}']).split('\n').find((l) => l.startsWith('orphan '));
    expect(status).toMatch(/^orphan (running|exited)$/);
    expect(ok(['rm', '-f', 'orphan'])).toBe('orphan\n');
    await waitFor(() => {
      try {
        execFileSync('kill', ['-0', String(ctrPid)], { stdio: 'ignore' });
        return false;
      } catch {
        return true;
      }
    });
    expect(newContainerMounts(mountsBefore)).toEqual([]);
    expect(ok(['run', '--rm', IMG, 'echo', 'fine'])).toBe('fine\n');
  });

  it('rm -a and -i', () => {
    expect(selkie(['rm', '-i', 'never-existed']).code).toBe(0);
    ok(['create', '--name', 'rma', IMG, 'true']);
    const out = ok(['rm', '-a', '-f']);
    expect(out.length).toBeGreaterThan(0);
    expect(ok(['ps', '-a', '-q'])).toBe('');
  });
});
