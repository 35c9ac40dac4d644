import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  SECCOMP_ACTIONS,
  SECCOMP_OPERATORS,
  defaultSeccompProfile,
  type OciSeccomp,
  type OciSyscall,
} from '../../src/runtime/seccomp';
import { MAX_SECCOMP_PROFILE_BYTES, convertSeccompProfile, loadSeccompProfile } from '../../src/runtime/seccomp-file';
import { DEFAULT_CAPABILITIES } from '../../src/runtime/security';

const defaults = (arch: 'amd64' | 'arm64' = 'amd64', extra: string[] = []) =>
  defaultSeccompProfile({ arch, capabilities: [...DEFAULT_CAPABILITIES, ...extra] });

/** Rules naming `name`, split by whether they filter on arguments. */
function rulesFor(p: OciSeccomp, name: string): { plain: OciSyscall[]; filtered: OciSyscall[] } {
  const rules = (p.syscalls ?? []).filter((s) => s.names.includes(name));
  return { plain: rules.filter((r) => !r.args?.length), filtered: rules.filter((r) => r.args?.length) };
}

/** What an unconditional call of `name` gets: 'allow', an errno number, or 'filtered'. */
function outcome(p: OciSeccomp, name: string): 'allow' | number | 'filtered' {
  const { plain, filtered } = rulesFor(p, name);
  if (plain.length > 1) throw new Error(`${name} has ${plain.length} unconditional rules`);
  if (plain.length === 1) {
    if (filtered.length) throw new Error(`${name} has both plain and filtered rules`);
    return plain[0].action === 'SCMP_ACT_ALLOW' ? 'allow' : (plain[0].errnoRet ?? 1);
  }
  if (filtered.length) return 'filtered';
  return p.defaultErrnoRet ?? 1;
}

describe('defaultSeccompProfile', () => {
  it('is a well-formed OCI seccomp object with ENOSYS as the default', () => {
    for (const arch of ['amd64', 'arm64'] as const) {
      const p = defaults(arch);
      expect(p.defaultAction).toBe('SCMP_ACT_ERRNO');
      expect(p.defaultErrnoRet).toBe(38);
      expect(p.syscalls?.length).toBeGreaterThan(5);
      for (const s of p.syscalls!) {
        expect(s.names.length).toBeGreaterThan(0);
        for (const n of s.names) expect(n).toMatch(/^[a-z_][a-z0-9_]*$/);
        expect(SECCOMP_ACTIONS).toContain(s.action);
        if (s.errnoRet !== undefined) expect(s.action).toBe('SCMP_ACT_ERRNO');
        for (const a of s.args ?? []) {
          expect(a.index).toBeGreaterThanOrEqual(0);
          expect(a.index).toBeLessThan(6);
          expect(SECCOMP_OPERATORS).toContain(a.op);
          expect(Number.isSafeInteger(a.value)).toBe(true);
        }
      }
      // Round-trips through JSON unchanged (it is written into config.json).
      expect(JSON.parse(JSON.stringify(p))).toEqual(p);
    }
  });

  it('lists the architectures of each host', () => {
    expect(defaults('amd64').architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    expect(defaults('arm64').architectures).toEqual(['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
  });

  it('never gives a name two unconditional rules', () => {
    for (const extra of [[], ['CAP_SYS_ADMIN', 'CAP_SYS_PTRACE', 'CAP_SYS_TIME', 'CAP_SYS_MODULE', 'CAP_SYS_BOOT']]) {
      const p = defaults('amd64', extra);
      const seen = new Map<string, number>();
      for (const s of p.syscalls!) if (!s.args?.length) for (const n of s.names) seen.set(n, (seen.get(n) ?? 0) + 1);
      expect([...seen].filter(([, c]) => c > 1)).toEqual([]);
    }
  });

  it('allows what shells, coreutils, package managers, Node and Python need', () => {
    const p = defaults();
    const needed = [
      'read', 'write', 'openat', 'close', 'newfstatat', 'statx', 'lseek', 'mmap', 'mprotect', 'munmap', 'brk',
      'execve', 'execveat', 'exit_group', 'wait4', 'fork', 'vfork', 'rt_sigaction', 'rt_sigprocmask', 'rt_sigreturn',
      'arch_prctl', 'set_tid_address', 'set_robust_list', 'rseq', 'prlimit64', 'getrandom', 'futex',
      'epoll_create1', 'epoll_ctl', 'epoll_wait', 'epoll_pwait', 'eventfd2', 'pipe2', 'dup3', 'fcntl', 'ioctl',
      'bind', 'listen', 'accept4', 'connect', 'sendmsg', 'recvmsg', 'setsockopt', 'getdents64', 'renameat2',
      'fchownat', 'fchmodat', 'utimensat', 'setresuid', 'setgroups', 'capset', 'prctl', 'chroot', 'clock_gettime',
      'clock_nanosleep', 'sched_getaffinity', 'madvise', 'membarrier', 'inotify_init1', 'close_range', 'faccessat2',
      'ptrace', 'seccomp', 'memfd_create', 'io_submit', 'shmget', 'semop', 'mq_open', 'uname', 'sysinfo',
    ];
    for (const n of needed) expect(outcome(p, n), n).toBe('allow');
  });

  it('allows the 32-bit compat and arm entry points on the matching host only', () => {
    expect(outcome(defaults('amd64'), 'socketcall')).toBe('allow');
    expect(outcome(defaults('amd64'), 'mmap2')).toBe('allow');
    expect(outcome(defaults('arm64'), 'set_tls')).toBe('allow');
    expect(outcome(defaults('arm64'), 'arch_prctl')).toBe(38);
    expect(outcome(defaults('amd64'), 'cacheflush')).toBe(38);
  });

  it('denies known-dangerous syscalls with EPERM by default', () => {
    const p = defaults();
    for (const n of [
      'kexec_load', 'kexec_file_load', 'init_module', 'finit_module', 'delete_module', 'bpf', 'perf_event_open',
      'mount', 'umount2', 'pivot_root', 'move_mount', 'fsopen', 'reboot', 'swapon', 'swapoff', 'keyctl', 'add_key',
      'request_key', 'open_by_handle_at', 'setns', 'process_vm_readv', 'process_vm_writev', 'settimeofday',
      'clock_settime', 'syslog', 'acct', 'userfaultfd', 'iopl', 'ioperm', 'sethostname',
    ]) {
      expect(outcome(p, n), n).toBe(1);
    }
  });

  it('makes unknown and deliberately absent syscalls look unimplemented', () => {
    const p = defaults();
    for (const n of ['io_uring_setup', 'io_uring_enter', 'clone3', 'modify_ldt', 'vm86', 'memfd_secret', 'mseal']) {
      expect(outcome(p, n), n).toBe(38);
    }
    expect(rulesFor(p, 'clone3').plain[0]).toMatchObject({ action: 'SCMP_ACT_ERRNO', errnoRet: 38 });
  });

  it('filters clone and unshare by namespace flags without CAP_SYS_ADMIN', () => {
    const p = defaults();
    const clone = rulesFor(p, 'clone');
    expect(clone.plain).toEqual([]);
    const allow = clone.filtered.find((r) => r.action === 'SCMP_ACT_ALLOW')!;
    // CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET must all be clear.
    expect(allow.args).toEqual([{ index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }]);
    const denied = clone.filtered.filter((r) => r.action === 'SCMP_ACT_ERRNO');
    expect(denied.map((r) => r.args![0].value).sort()).toEqual(
      [0x20000, 0x2000000, 0x4000000, 0x8000000, 0x10000000, 0x20000000, 0x40000000].sort(),
    );
    for (const r of denied) {
      expect(r.errnoRet).toBe(1);
      expect(r.args![0].valueTwo).toBe(r.args![0].value);
    }
    const unshare = rulesFor(p, 'unshare').filtered.find((r) => r.action === 'SCMP_ACT_ALLOW')!;
    expect(unshare.args![0].value).toBe(0x7e020080); // CLONE_NEWTIME too
  });

  it('limits personality to safe values', () => {
    const p = defaults();
    const rules = rulesFor(p, 'personality');
    expect(rules.plain).toEqual([]);
    const values = rules.filtered.map((r) => {
      expect(r.action).toBe('SCMP_ACT_ALLOW');
      expect(r.args).toHaveLength(1);
      expect(r.args![0].op).toBe('SCMP_CMP_EQ');
      return r.args![0].value;
    });
    expect(values.sort((a, b) => a - b)).toEqual([0, 8, 0x20000, 0x20008, 0xffffffff]);
  });

  it('refuses AF_VSOCK sockets', () => {
    const socket = rulesFor(defaults(), 'socket').filtered;
    expect(socket).toContainEqual({ names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 40, op: 'SCMP_CMP_NE' }] });
    expect(socket).toContainEqual({
      names: ['socket'],
      action: 'SCMP_ACT_ERRNO',
      errnoRet: 1,
      args: [{ index: 0, value: 40, op: 'SCMP_CMP_EQ' }],
    });
  });

  it('CAP_SYS_ADMIN adds mount, namespaces and clone3', () => {
    const p = defaults('amd64', ['CAP_SYS_ADMIN']);
    for (const n of ['mount', 'umount2', 'setns', 'unshare', 'clone', 'clone3', 'pivot_root', 'bpf', 'perf_event_open', 'sethostname']) {
      expect(outcome(p, n), n).toBe('allow');
    }
    // Never unlocked by a capability.
    expect(outcome(p, 'keyctl')).toBe(1);
    expect(outcome(p, 'kexec_load')).toBe(1);
  });

  it('other capabilities add their own syscalls', () => {
    expect(outcome(defaults('amd64', ['CAP_SYS_PTRACE']), 'process_vm_readv')).toBe('allow');
    expect(outcome(defaults('amd64', ['CAP_SYS_PTRACE']), 'process_vm_writev')).toBe('allow');
    expect(outcome(defaults('amd64', ['CAP_SYS_TIME']), 'settimeofday')).toBe('allow');
    expect(outcome(defaults('amd64', ['CAP_SYS_TIME']), 'clock_settime')).toBe('allow');
    expect(outcome(defaults('amd64', ['CAP_SYS_MODULE']), 'finit_module')).toBe('allow');
    expect(outcome(defaults('amd64', ['CAP_SYS_BOOT']), 'reboot')).toBe('allow');
    expect(outcome(defaults('amd64', ['CAP_DAC_READ_SEARCH']), 'open_by_handle_at')).toBe('allow');
    expect(outcome(defaults('amd64', ['CAP_BPF']), 'bpf')).toBe('allow');
    // Capability names are accepted in any case and without the prefix.
    expect(outcome(defaultSeccompProfile({ arch: 'amd64', capabilities: ['sys_admin'] }), 'mount')).toBe('allow');
    // iopl only exists on x86.
    expect(outcome(defaults('arm64', ['CAP_SYS_RAWIO']), 'iopl')).toBe(38);
  });

  it('returns a fresh object each call', () => {
    const a = defaults();
    a.syscalls![0].names.push('kexec_load');
    expect(outcome(defaults(), 'kexec_load')).toBe(1);
  });

  it('rejects an unknown architecture', () => {
    expect(() => defaultSeccompProfile({ arch: 'ppc64le' as 'amd64', capabilities: [] })).toThrow(/unsupported architecture/);
  });
});

describe('loadSeccompProfile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'selkie-seccomp-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  const file = (content: unknown): string => {
    const p = join(dir, `p${n++}.json`);
    writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
    return p;
  };

  const docker = {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 1,
    archMap: [
      { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
      { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
    ],
    syscalls: [
      { names: ['read', 'write', 'exit_group'], action: 'SCMP_ACT_ALLOW', comment: 'basics' },
      { name: 'openat', action: 'SCMP_ACT_ALLOW' },
      {
        names: ['personality'],
        action: 'SCMP_ACT_ALLOW',
        args: [{ index: 0, value: 8, valueTwo: 0, op: 'SCMP_CMP_EQ' }],
      },
      { names: ['mount'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
      { names: ['clone'], action: 'SCMP_ACT_ALLOW', excludes: { caps: ['CAP_SYS_ADMIN'] } },
      { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64', 'x32'] } },
      { names: ['set_tls'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['arm', 'arm64'] } },
      { names: ['ptrace'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '4.8' } },
      { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38, excludes: { minKernel: '99.0' } },
    ],
  };

  it('converts a Docker-format profile for amd64 without capabilities', () => {
    const p = loadSeccompProfile(file(docker), { arch: 'amd64', capabilities: [], kernelRelease: '6.1.0-13-amd64' });
    expect(p.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(p.defaultErrnoRet).toBe(1);
    expect(p.architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    expect(p.syscalls).toEqual([
      { names: ['read', 'write', 'exit_group'], action: 'SCMP_ACT_ALLOW' },
      { names: ['openat'], action: 'SCMP_ACT_ALLOW' },
      { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, valueTwo: 0, op: 'SCMP_CMP_EQ' }] },
      { names: ['clone'], action: 'SCMP_ACT_ALLOW' },
      { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW' },
      { names: ['ptrace'], action: 'SCMP_ACT_ALLOW' },
      { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
    ]);
    // No Docker-only keys leak into the OCI form.
    expect(JSON.stringify(p)).not.toMatch(/comment|includes|excludes|archMap/);
  });

  it('applies capability, architecture and kernel conditions', () => {
    const p = loadSeccompProfile(file(docker), { arch: 'arm64', capabilities: ['SYS_ADMIN'], kernelRelease: '4.4.0' });
    expect(p.architectures).toEqual(['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
    const names = p.syscalls!.flatMap((s) => s.names);
    expect(names).toContain('mount');
    expect(names).not.toContain('clone');
    expect(names).toContain('set_tls');
    expect(names).not.toContain('arch_prctl');
    expect(names).not.toContain('ptrace'); // kernel 4.4 < 4.8
  });

  it('accepts a profile already in OCI form', () => {
    const oci = {
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64'],
      flags: ['SECCOMP_FILTER_FLAG_LOG'],
      syscalls: [{ names: ['keyctl'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
    };
    expect(loadSeccompProfile(file(oci), { arch: 'amd64' })).toEqual(oci);
  });

  it('leaves architectures to the runtime when archMap has no entry for this host', () => {
    const p = convertSeccompProfile(
      { defaultAction: 'SCMP_ACT_ALLOW', archMap: [{ architecture: 'SCMP_ARCH_S390X', subArchitectures: ['SCMP_ARCH_S390'] }] },
      { arch: 'amd64' },
    );
    expect(p.architectures).toBeUndefined();
    expect(p.syscalls).toEqual([]);
  });

  it('explains malformed profiles', () => {
    const bad: Array<[unknown, RegExp]> = [
      ['{ not json', /is not valid JSON/],
      [[], /invalid seccomp profile/],
      [{ syscalls: [] }, /defaultAction/],
      [{ defaultAction: 'SCMP_ACT_NOPE' }, /defaultAction/],
      [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'ALLOW' }] }, /syscalls\[0\]\.action/],
      [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['Read Me'], action: 'SCMP_ACT_ALLOW' }] }, /syscalls\[0\]\.names\[0\]/],
      [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ action: 'SCMP_ACT_ALLOW' }] }, /no syscall names/],
      [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ name: 'read', names: ['write'], action: 'SCMP_ACT_ALLOW' }] }, /either "name" or "names"/],
      [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', errnoRet: 1 }] }, /errnoRet is only valid/],
      [{ defaultAction: 'SCMP_ACT_ALLOW', defaultErrnoRet: 1 }, /defaultErrnoRet is only valid/],
      [
        { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 6, value: 0, op: 'SCMP_CMP_EQ' }] }] },
        /syscalls\[0\]\.args\[0\]\.index/,
      ],
      [
        { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 2 ** 60, op: 'SCMP_CMP_EQ' }] }] },
        /args\[0\]\.value/,
      ],
      [{ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'], archMap: [{ architecture: 'SCMP_ARCH_X86_64' }] }, /either "architectures" or "archMap"/],
      [{ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_BOGUS'] }, /flags/],
      [{ defaultAction: 'SCMP_ACT_NOTIFY' }, /listenerPath/],
      [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: 'five' } }] }, /minKernel/],
    ];
    for (const [content, re] of bad) {
      const path = file(content);
      expect(() => loadSeccompProfile(path, { arch: 'amd64' }), JSON.stringify(content)).toThrow(re);
      expect(() => loadSeccompProfile(path, { arch: 'amd64' })).toThrow(path);
    }
  });

  it('refuses missing, oversized and non-regular files', () => {
    expect(() => loadSeccompProfile(join(dir, 'missing.json'))).toThrow(/cannot read seccomp profile ".*missing.json": no such file/);
    const big = join(dir, 'big.json');
    writeFileSync(big, `{"defaultAction":"SCMP_ACT_ALLOW","comment":"${'x'.repeat(MAX_SECCOMP_PROFILE_BYTES)}"}`);
    expect(() => loadSeccompProfile(big)).toThrow(/too large/);
    const sub = join(dir, 'adir');
    mkdirSync(sub);
    expect(() => loadSeccompProfile(sub)).toThrow(/not a regular file/);
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(() => loadSeccompProfile(fifo)).toThrow(/not a regular file/); // and does not block
  });
});
