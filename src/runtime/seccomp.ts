// Seccomp profiles for the OCI runtime spec's `linux.seccomp`.
//
// The default profile is selkie's own: an allow-list where anything not listed
// fails with ENOSYS (so new or exotic syscalls look unimplemented and libc falls
// back), a short list of known-dangerous syscalls that fail with EPERM, and
// capability-gated groups that the caller's capability set switches from EPERM to
// allowed. `loadSeccompProfile` converts a user's Docker-format JSON profile
// (`--security-opt seccomp=PATH`) into the same OCI shape.

import { closeSync, constants as fsConstants, fstatSync, openSync, readSync } from 'node:fs';
import { release } from 'node:os';
import { z } from 'zod';

// ---------------------------------------------------------------------------
// Types in the OCI runtime spec's shape (config-linux.md, "Seccomp").

export const SECCOMP_ACTIONS = [
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_LOG',
  'SCMP_ACT_NOTIFY',
] as const;
export type SeccompAction = (typeof SECCOMP_ACTIONS)[number];

export const SECCOMP_ARCHES = [
  'SCMP_ARCH_X86',
  'SCMP_ARCH_X86_64',
  'SCMP_ARCH_X32',
  'SCMP_ARCH_ARM',
  'SCMP_ARCH_AARCH64',
  'SCMP_ARCH_LOONGARCH64',
  'SCMP_ARCH_M68K',
  'SCMP_ARCH_MIPS',
  'SCMP_ARCH_MIPS64',
  'SCMP_ARCH_MIPS64N32',
  'SCMP_ARCH_MIPSEL',
  'SCMP_ARCH_MIPSEL64',
  'SCMP_ARCH_MIPSEL64N32',
  'SCMP_ARCH_PPC',
  'SCMP_ARCH_PPC64',
  'SCMP_ARCH_PPC64LE',
  'SCMP_ARCH_S390',
  'SCMP_ARCH_S390X',
  'SCMP_ARCH_PARISC',
  'SCMP_ARCH_PARISC64',
  'SCMP_ARCH_RISCV64',
  'SCMP_ARCH_SH',
  'SCMP_ARCH_SHEB',
] as const;
export type SeccompArch = (typeof SECCOMP_ARCHES)[number];

export const SECCOMP_OPERATORS = [
  'SCMP_CMP_NE',
  'SCMP_CMP_LT',
  'SCMP_CMP_LE',
  'SCMP_CMP_EQ',
  'SCMP_CMP_GE',
  'SCMP_CMP_GT',
  'SCMP_CMP_MASKED_EQ',
] as const;
export type SeccompOperator = (typeof SECCOMP_OPERATORS)[number];

// Flags crun 1.8 understands; anything else makes it refuse the spec.
export const SECCOMP_FLAGS = [
  'SECCOMP_FILTER_FLAG_TSYNC',
  'SECCOMP_FILTER_FLAG_LOG',
  'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
  'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV',
] as const;
export type SeccompFlag = (typeof SECCOMP_FLAGS)[number];

export interface OciSeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: SeccompOperator;
}

export interface OciSyscall {
  names: string[];
  action: SeccompAction;
  errnoRet?: number;
  args?: OciSeccompArg[];
}

export interface OciSeccomp {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  architectures?: SeccompArch[];
  flags?: SeccompFlag[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: OciSyscall[];
}

export type SeccompHostArch = 'amd64' | 'arm64';

const EPERM = 1;
const ENOSYS = 38;

/** The native architecture and the compat ones whose binaries the same kernel runs. */
const ARCHITECTURES: Record<SeccompHostArch, SeccompArch[]> = {
  amd64: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  arm64: ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
};

// ---------------------------------------------------------------------------
// The default profile's constant data.
//
// Names that do not exist on one of the profile's architectures are fine:
// libseccomp resolves them to pseudo-numbers and skips them for that arch. Names
// unknown to libseccomp itself make crun print a warning on every start, so only
// syscalls known to libseccomp 2.5.4 (Debian 12's, with its table backport up to
// Linux 6.6) are listed; newer ones fall to the ENOSYS default, which libc treats
// as "kernel too old" and works around.

/** Allowed for every container, on every architecture. */
const BASE_ALLOW: readonly string[] = [
  // files and descriptors
  'read', 'write', 'readv', 'writev', 'pread64', 'pwrite64', 'preadv', 'pwritev', 'preadv2', 'pwritev2',
  'open', 'openat', 'openat2', 'creat', 'close', 'close_range', 'lseek',
  'dup', 'dup2', 'dup3', 'pipe', 'pipe2', 'fcntl', 'ioctl', 'flock',
  'fsync', 'fdatasync', 'sync', 'syncfs', 'sync_file_range',
  'truncate', 'ftruncate', 'fallocate', 'fadvise64', 'readahead',
  'stat', 'lstat', 'fstat', 'newfstatat', 'statx', 'statfs', 'fstatfs',
  'access', 'faccessat', 'faccessat2', 'chdir', 'fchdir', 'getcwd', 'chroot',
  'mkdir', 'mkdirat', 'rmdir', 'rename', 'renameat', 'renameat2',
  'link', 'linkat', 'unlink', 'unlinkat', 'symlink', 'symlinkat', 'readlink', 'readlinkat',
  'chmod', 'fchmod', 'fchmodat', 'fchmodat2', 'chown', 'fchown', 'lchown', 'fchownat', 'umask',
  'utime', 'utimes', 'futimesat', 'utimensat', 'mknod', 'mknodat',
  'getdents', 'getdents64', 'sendfile', 'splice', 'tee', 'vmsplice', 'copy_file_range', 'cachestat',
  'getxattr', 'lgetxattr', 'fgetxattr', 'setxattr', 'lsetxattr', 'fsetxattr',
  'listxattr', 'llistxattr', 'flistxattr', 'removexattr', 'lremovexattr', 'fremovexattr',
  'inotify_init', 'inotify_init1', 'inotify_add_watch', 'inotify_rm_watch', 'fanotify_mark',
  'name_to_handle_at', 'memfd_create',
  // POSIX AIO as used by databases (io_uring is handled separately)
  'io_setup', 'io_destroy', 'io_submit', 'io_cancel', 'io_getevents', 'io_pgetevents',
  // processes
  'execve', 'execveat', 'exit', 'exit_group', 'fork', 'vfork', 'wait4', 'waitid',
  'kill', 'tkill', 'tgkill', 'rt_sigqueueinfo', 'rt_tgsigqueueinfo',
  'pidfd_open', 'pidfd_send_signal', 'pidfd_getfd',
  'getpid', 'getppid', 'gettid', 'getpgid', 'setpgid', 'getpgrp', 'getsid', 'setsid',
  'getuid', 'geteuid', 'getgid', 'getegid', 'setuid', 'setgid', 'setreuid', 'setregid',
  'setresuid', 'setresgid', 'getresuid', 'getresgid', 'setfsuid', 'setfsgid', 'getgroups', 'setgroups',
  'capget', 'capset', 'prctl', 'seccomp', 'set_tid_address', 'set_robust_list', 'get_robust_list', 'rseq',
  'getrlimit', 'setrlimit', 'prlimit64', 'getrusage', 'times', 'getpriority', 'setpriority',
  'sched_yield', 'sched_getaffinity', 'sched_setaffinity', 'sched_getparam', 'sched_setparam',
  'sched_getscheduler', 'sched_setscheduler', 'sched_get_priority_max', 'sched_get_priority_min',
  'sched_rr_get_interval', 'sched_getattr', 'sched_setattr', 'ioprio_get', 'ioprio_set',
  'uname', 'sysinfo', 'getcpu', 'restart_syscall', 'pause', 'alarm', 'getitimer', 'setitimer',
  // ptrace runs after seccomp on Linux >= 4.8, so a tracer cannot use it to skip the
  // filter; the kernel's own checks keep tracing inside the container's pid namespace.
  'ptrace',
  // self-sandboxing
  'landlock_create_ruleset', 'landlock_add_rule', 'landlock_restrict_self',
  // memory
  'brk', 'mmap', 'munmap', 'mremap', 'mprotect', 'madvise', 'mincore', 'msync',
  'mlock', 'mlock2', 'munlock', 'mlockall', 'munlockall', 'remap_file_pages',
  'pkey_mprotect', 'pkey_alloc', 'pkey_free', 'membarrier', 'get_mempolicy', 'map_shadow_stack',
  'futex', 'futex_waitv',
  // signals
  'rt_sigaction', 'rt_sigprocmask', 'rt_sigreturn', 'rt_sigpending', 'rt_sigsuspend', 'rt_sigtimedwait',
  'sigaltstack', 'signalfd', 'signalfd4',
  // time (setting the clock is gated on CAP_SYS_TIME below; adjtimex with modes=0
  // only reads, and the kernel checks the capability for changes)
  'clock_gettime', 'clock_getres', 'clock_nanosleep', 'gettimeofday', 'time', 'nanosleep',
  'adjtimex', 'clock_adjtime',
  'timer_create', 'timer_settime', 'timer_gettime', 'timer_getoverrun', 'timer_delete',
  'timerfd_create', 'timerfd_settime', 'timerfd_gettime',
  // waiting for events
  'select', 'pselect6', 'poll', 'ppoll',
  'epoll_create', 'epoll_create1', 'epoll_ctl', 'epoll_wait', 'epoll_pwait', 'epoll_pwait2',
  'eventfd', 'eventfd2',
  // sockets (socket itself is filtered by address family below)
  'socketpair', 'bind', 'listen', 'accept', 'accept4', 'connect', 'getsockname', 'getpeername',
  'sendto', 'recvfrom', 'sendmsg', 'recvmsg', 'sendmmsg', 'recvmmsg', 'shutdown',
  'setsockopt', 'getsockopt',
  // System V IPC and POSIX message queues (namespaced by the IPC namespace)
  'shmget', 'shmat', 'shmdt', 'shmctl', 'semget', 'semop', 'semtimedop', 'semctl',
  'msgget', 'msgsnd', 'msgrcv', 'msgctl',
  'mq_open', 'mq_unlink', 'mq_timedsend', 'mq_timedreceive', 'mq_notify', 'mq_getsetattr',
  'getrandom',
];

/** 32-bit compat entry points (i386 under amd64, arm under arm64). */
const COMPAT32_ALLOW: readonly string[] = [
  '_llseek', '_newselect', 'fcntl64', 'fstat64', 'fstatat64', 'lstat64', 'stat64', 'statfs64', 'fstatfs64',
  'truncate64', 'ftruncate64', 'fadvise64_64', 'sendfile64', 'mmap2', 'ugetrlimit', 'waitpid', 'nice',
  'chown32', 'fchown32', 'lchown32', 'getuid32', 'geteuid32', 'getgid32', 'getegid32',
  'setuid32', 'setgid32', 'setreuid32', 'setregid32', 'setresuid32', 'setresgid32',
  'getresuid32', 'getresgid32', 'setfsuid32', 'setfsgid32', 'getgroups32', 'setgroups32',
  'sigaction', 'sigpending', 'sigprocmask', 'sigreturn', 'sigsuspend', 'signal',
  'send', 'recv', 'socketcall', 'ipc',
  // 64-bit time variants used by 32-bit programs built for y2038
  'clock_gettime64', 'clock_getres_time64', 'clock_nanosleep_time64', 'clock_adjtime64', 'futex_time64',
  'io_pgetevents_time64', 'mq_timedreceive_time64', 'mq_timedsend_time64', 'ppoll_time64',
  'pselect6_time64', 'recvmmsg_time64', 'rt_sigtimedwait_time64', 'sched_rr_get_interval_time64',
  'semtimedop_time64', 'timer_gettime64', 'timer_settime64', 'timerfd_gettime64', 'timerfd_settime64',
  'utimensat_time64',
];

const ARCH_ALLOW: Record<SeccompHostArch, readonly string[]> = {
  amd64: ['arch_prctl', 'get_thread_area', 'set_thread_area'],
  arm64: ['breakpoint', 'cacheflush', 'set_tls', 'arm_fadvise64_64', 'arm_sync_file_range'],
};

/**
 * EPERM whatever the capabilities: these reach kernel state that no namespace
 * isolates (the kernel image, the keyrings).
 */
const ALWAYS_DENY: readonly string[] = ['kexec_load', 'kexec_file_load', 'keyctl', 'add_key', 'request_key'];

/**
 * ENOSYS on purpose: callers treat these as "not built into this kernel" and fall
 * back. io_uring is a large, fast-moving attack surface that seccomp cannot look
 * into (its operations never pass through the filter), and libuv, glibc-based
 * runtimes and databases all fall back to ordinary syscalls without it.
 */
const NOT_IMPLEMENTED: readonly string[] = ['io_uring_setup', 'io_uring_enter', 'io_uring_register'];

/** Syscalls that are EPERM unless the container holds one of the capabilities. */
interface CapGroup {
  caps: readonly string[];
  names: readonly string[];
  arches?: readonly SeccompHostArch[];
}

const CAP_GROUPS: readonly CapGroup[] = [
  {
    caps: ['CAP_SYS_ADMIN'],
    names: [
      'mount', 'umount', 'umount2', 'pivot_root', 'move_mount', 'open_tree', 'mount_setattr',
      'fsopen', 'fsconfig', 'fsmount', 'fspick', 'setns', 'sethostname', 'setdomainname',
      'swapon', 'swapoff', 'quotactl', 'quotactl_fd', 'lookup_dcookie', 'fanotify_init',
    ],
  },
  { caps: ['CAP_SYS_ADMIN', 'CAP_BPF'], names: ['bpf'] },
  { caps: ['CAP_SYS_ADMIN', 'CAP_PERFMON'], names: ['perf_event_open'] },
  { caps: ['CAP_SYS_ADMIN', 'CAP_SYSLOG'], names: ['syslog'] },
  { caps: ['CAP_SYS_BOOT'], names: ['reboot'] },
  { caps: ['CAP_SYS_MODULE'], names: ['init_module', 'finit_module', 'delete_module'] },
  { caps: ['CAP_SYS_PTRACE'], names: ['process_vm_readv', 'process_vm_writev', 'kcmp', 'userfaultfd'] },
  { caps: ['CAP_SYS_TIME'], names: ['settimeofday', 'clock_settime', 'clock_settime64', 'stime'] },
  { caps: ['CAP_DAC_READ_SEARCH'], names: ['open_by_handle_at'] },
  { caps: ['CAP_SYS_PACCT'], names: ['acct'] },
  { caps: ['CAP_SYS_TTY_CONFIG'], names: ['vhangup'] },
  {
    caps: ['CAP_SYS_NICE'],
    names: ['mbind', 'set_mempolicy', 'set_mempolicy_home_node', 'migrate_pages', 'move_pages'],
  },
  { caps: ['CAP_SYS_RAWIO'], names: ['iopl', 'ioperm'], arches: ['amd64'] },
];

// Namespace flags of clone(2)/unshare(2).
const CLONE_NEWNS = 0x00020000;
const CLONE_NEWCGROUP = 0x02000000;
const CLONE_NEWUTS = 0x04000000;
const CLONE_NEWIPC = 0x08000000;
const CLONE_NEWUSER = 0x10000000;
const CLONE_NEWPID = 0x20000000;
const CLONE_NEWNET = 0x40000000;
// Only unshare() and clone3() accept it: for clone() the bit is part of the exit signal.
const CLONE_NEWTIME = 0x00000080;

const CLONE_NS_FLAGS = [
  CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
];
const UNSHARE_NS_FLAGS = [...CLONE_NS_FLAGS, CLONE_NEWTIME];

const AF_VSOCK = 40;

// personality(2) values that only change uname's answer or ask for the current
// persona; anything else (e.g. ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC) falls to the default.
const PERSONALITY_ALLOWED = [
  0x0, // PER_LINUX
  0x8, // PER_LINUX32
  0x20000, // UNAME26
  0x20008, // UNAME26 | PER_LINUX32
  0xffffffff, // query only
];

/**
 * Filter for a syscall whose first argument carries namespace flags: allowed when
 * none is set, EPERM when any is (one rule per flag, since crun splits multiple
 * conditions on one argument into alternatives).
 */
function namespaceFlagRules(name: string, flags: readonly number[]): OciSyscall[] {
  const mask = flags.reduce((a, b) => a | b, 0) >>> 0;
  return [
    { names: [name], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: mask, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] },
    ...flags.map(
      (flag): OciSyscall => ({
        names: [name],
        action: 'SCMP_ACT_ERRNO',
        errnoRet: EPERM,
        args: [{ index: 0, value: flag, valueTwo: flag, op: 'SCMP_CMP_MASKED_EQ' }],
      }),
    ),
  ];
}

function normalizeCap(cap: string): string {
  const upper = cap.trim().toUpperCase();
  return upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
}

/**
 * selkie's default seccomp profile for a container with the given (bounding)
 * capability set. Built from constant tables on every call; cheap enough for `run`.
 */
export function defaultSeccompProfile(opts: { arch: SeccompHostArch; capabilities: string[] }): OciSeccomp {
  const architectures = ARCHITECTURES[opts.arch];
  if (!architectures) throw new Error(`seccomp: unsupported architecture "${String(opts.arch)}" (expected amd64 or arm64)`);
  const caps = new Set(opts.capabilities.map(normalizeCap));
  const sysAdmin = caps.has('CAP_SYS_ADMIN');

  const allow: string[] = [...BASE_ALLOW, ...COMPAT32_ALLOW, ...ARCH_ALLOW[opts.arch]];
  const deny: string[] = [...ALWAYS_DENY];
  for (const group of CAP_GROUPS) {
    if (group.arches && !group.arches.includes(opts.arch)) continue;
    (group.caps.some((c) => caps.has(c)) ? allow : deny).push(...group.names);
  }

  const syscalls: OciSyscall[] = [
    { names: allow, action: 'SCMP_ACT_ALLOW' },
    { names: deny, action: 'SCMP_ACT_ERRNO', errnoRet: EPERM },
    { names: [...NOT_IMPLEMENTED], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS },
  ];

  if (sysAdmin) {
    // Namespace creation is what CAP_SYS_ADMIN is asked for; clone3's flags live in
    // a struct seccomp cannot read, so it is only allowed together with the capability.
    syscalls[0].names.push('clone', 'clone3', 'unshare');
  } else {
    syscalls.push(...namespaceFlagRules('clone', CLONE_NS_FLAGS), ...namespaceFlagRules('unshare', UNSHARE_NS_FLAGS));
    // ENOSYS makes glibc (>= 2.34) and musl fall back to clone(), whose flags are filtered above.
    syscalls.push({ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS });
  }

  // vsock is not network-namespaced: it would reach the hypervisor and host services
  // past the container's network isolation.
  syscalls.push(
    { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: AF_VSOCK, op: 'SCMP_CMP_NE' }] },
    { names: ['socket'], action: 'SCMP_ACT_ERRNO', errnoRet: EPERM, args: [{ index: 0, value: AF_VSOCK, op: 'SCMP_CMP_EQ' }] },
  );

  for (const value of PERSONALITY_ALLOWED) {
    syscalls.push({ names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value, op: 'SCMP_CMP_EQ' }] });
  }

  return {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: ENOSYS,
    architectures: [...architectures],
    syscalls,
  };
}

// ---------------------------------------------------------------------------
// User profiles in Docker's JSON format (also accepts the plain OCI form).

export const MAX_SECCOMP_PROFILE_BYTES = 1024 * 1024;

const syscallName = z.string().regex(/^[a-z_][a-z0-9_]*$/, 'must be a syscall name such as "openat"');
// JSON numbers beyond 2^53 lose precision in JavaScript; refuse rather than filter on a wrong value.
const u64 = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const errnoValue = z.number().int().min(0).max(4095);
const kernelVersion = z.string().regex(/^\d+\.\d+$/, 'must be a kernel version such as "5.8"');

const filterSchema = z.object({
  caps: z.array(z.string()).optional(),
  arches: z.array(z.string()).optional(),
  minKernel: kernelVersion.optional(),
});

const argSchema = z.object({
  index: z.number().int().min(0).max(5),
  value: u64,
  valueTwo: u64.optional(),
  op: z.enum(SECCOMP_OPERATORS),
});

const syscallSchema = z.object({
  name: syscallName.optional(),
  names: z.array(syscallName).optional(),
  action: z.enum(SECCOMP_ACTIONS),
  errnoRet: errnoValue.optional(),
  args: z.array(argSchema).nullish(),
  comment: z.string().optional(),
  includes: filterSchema.optional(),
  excludes: filterSchema.optional(),
});

const profileSchema = z.object({
  defaultAction: z.enum(SECCOMP_ACTIONS),
  defaultErrnoRet: errnoValue.optional(),
  architectures: z.array(z.enum(SECCOMP_ARCHES)).nullish(),
  archMap: z
    .array(z.object({ architecture: z.enum(SECCOMP_ARCHES), subArchitectures: z.array(z.enum(SECCOMP_ARCHES)).nullish() }))
    .nullish(),
  flags: z.array(z.enum(SECCOMP_FLAGS)).nullish(),
  listenerPath: z.string().optional(),
  listenerMetadata: z.string().optional(),
  syscalls: z.array(syscallSchema).nullish(),
});

type DockerFilter = z.infer<typeof filterSchema>;

function hostArch(): SeccompHostArch {
  return process.arch === 'arm64' ? 'arm64' : 'amd64';
}

function kernelAtLeast(kernel: string, min: string): boolean {
  const [kMaj, kMin] = kernel.split(/[.-]/).map((p) => Number.parseInt(p, 10));
  const [mMaj, mMin] = min.split('.').map((p) => Number.parseInt(p, 10));
  if (!Number.isFinite(kMaj)) return true; // unknown kernel: do not drop rules
  return kMaj > mMaj || (kMaj === mMaj && (kMin || 0) >= mMin);
}

function errnoAllowed(action: SeccompAction): boolean {
  return action === 'SCMP_ACT_ERRNO' || action === 'SCMP_ACT_TRACE';
}

function formatIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => {
      let where = '';
      for (const key of issue.path) where += typeof key === 'number' ? `[${key}]` : where ? `.${String(key)}` : String(key);
      return `${where || '(top level)'}: ${issue.message}`;
    })
    .join('; ');
}

/** Reads a regular file of at most `limit` bytes without blocking on FIFOs or devices. */
function readCapped(path: string, limit: number): Buffer {
  let fd: number;
  try {
    fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOCTTY);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new Error(`cannot read seccomp profile "${path}": ${why}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Error(`cannot read seccomp profile "${path}": not a regular file`);
    if (st.size > limit) throw new Error(`seccomp profile "${path}" is too large (${st.size} bytes, limit ${limit})`);
    // Read one byte past the limit in case the file grows under us.
    const buf = Buffer.alloc(limit + 1);
    let total = 0;
    for (;;) {
      const n = readSync(fd, buf, total, buf.length - total, null);
      if (n === 0) break;
      total += n;
      if (total > limit) throw new Error(`seccomp profile "${path}" is too large (limit ${limit} bytes)`);
    }
    return buf.subarray(0, total);
  } finally {
    closeSync(fd);
  }
}

/**
 * Loads a seccomp profile for `--security-opt seccomp=PATH`: Docker's JSON format
 * (`names`, `archMap`, `includes`/`excludes` by capability, architecture and kernel)
 * or the plain OCI form, converted to the OCI form for this host. `capabilities`
 * is the container's bounding set (default: none, so capability-gated rules stay off).
 */
export function loadSeccompProfile(
  path: string,
  opts: { arch?: SeccompHostArch; capabilities?: string[]; kernelRelease?: string } = {},
): OciSeccomp {
  const text = readCapped(path, MAX_SECCOMP_PROFILE_BYTES).toString('utf8');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`seccomp profile "${path}" is not valid JSON: ${(e as Error).message}`);
  }
  return convertSeccompProfile(raw, { ...opts, source: path });
}

/** Converts an already-parsed Docker/OCI-format profile; exported for callers that hold JSON in memory. */
export function convertSeccompProfile(
  raw: unknown,
  opts: { arch?: SeccompHostArch; capabilities?: string[]; kernelRelease?: string; source?: string } = {},
): OciSeccomp {
  const source = opts.source ?? '(inline)';
  const fail = (msg: string): never => {
    throw new Error(`invalid seccomp profile "${source}": ${msg}`);
  };
  const parsed = profileSchema.safeParse(raw);
  if (!parsed.success) return fail(formatIssues(parsed.error));
  const p = parsed.data;

  const arch = opts.arch ?? hostArch();
  const caps = new Set((opts.capabilities ?? []).map(normalizeCap));
  const kernel = opts.kernelRelease ?? release();

  if (p.defaultErrnoRet !== undefined && !errnoAllowed(p.defaultAction)) {
    fail(`defaultErrnoRet is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not ${p.defaultAction}`);
  }
  if (p.architectures?.length && p.archMap?.length) {
    fail('use either "architectures" or "archMap", not both');
  }

  let architectures: SeccompArch[] | undefined = p.architectures?.length ? [...p.architectures] : undefined;
  if (p.archMap?.length) {
    const native = ARCHITECTURES[arch][0];
    const entry = p.archMap.find((m) => m.architecture === native);
    // No entry for this host: leave it to the runtime's native architecture, as Docker does.
    if (entry) architectures = [entry.architecture, ...(entry.subArchitectures ?? [])];
  }

  const applies = (inc: DockerFilter | undefined, exc: DockerFilter | undefined): boolean => {
    if (inc) {
      if (inc.caps?.length && !inc.caps.every((c) => caps.has(normalizeCap(c)))) return false;
      if (inc.arches?.length && !inc.arches.includes(arch)) return false;
      if (inc.minKernel && !kernelAtLeast(kernel, inc.minKernel)) return false;
    }
    if (exc) {
      if (exc.caps?.length && exc.caps.some((c) => caps.has(normalizeCap(c)))) return false;
      if (exc.arches?.length && exc.arches.includes(arch)) return false;
      if (exc.minKernel && kernelAtLeast(kernel, exc.minKernel)) return false;
    }
    return true;
  };

  const syscalls: OciSyscall[] = [];
  for (const [i, s] of (p.syscalls ?? []).entries()) {
    if (s.name !== undefined && s.names !== undefined) fail(`syscalls[${i}]: use either "name" or "names", not both`);
    const names = s.names ?? (s.name !== undefined ? [s.name] : []);
    if (names.length === 0) fail(`syscalls[${i}]: no syscall names`);
    if (s.errnoRet !== undefined && !errnoAllowed(s.action)) {
      fail(`syscalls[${i}]: errnoRet is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not ${s.action}`);
    }
    if (!applies(s.includes, s.excludes)) continue;
    const out: OciSyscall = { names: [...names], action: s.action };
    if (s.errnoRet !== undefined) out.errnoRet = s.errnoRet;
    if (s.args?.length) out.args = s.args.map((a) => ({ ...a }));
    syscalls.push(out);
  }

  if (p.defaultAction === 'SCMP_ACT_NOTIFY' || syscalls.some((s) => s.action === 'SCMP_ACT_NOTIFY')) {
    if (!p.listenerPath) fail('SCMP_ACT_NOTIFY needs a listenerPath');
  }

  const result: OciSeccomp = { defaultAction: p.defaultAction };
  if (p.defaultErrnoRet !== undefined) result.defaultErrnoRet = p.defaultErrnoRet;
  if (architectures) result.architectures = architectures;
  if (p.flags?.length) result.flags = [...p.flags];
  if (p.listenerPath) result.listenerPath = p.listenerPath;
  if (p.listenerMetadata) result.listenerMetadata = p.listenerMetadata;
  result.syscalls = syscalls;
  return result;
}
