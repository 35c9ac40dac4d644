// Seccomp profiles for the OCI runtime spec's `linux.seccomp`.
//
// The default profile is selkie's own: an allow-list where anything not listed
// fails with ENOSYS (so new or exotic syscalls look unimplemented and libc falls
// back), a short list of known-dangerous syscalls that fail with EPERM, and
// capability-gated groups that the caller's capability set switches from EPERM to
// allowed.  A user's Docker-format profile (`--security-opt seccomp=PATH`) is
// read by seccomp-file.ts, kept apart so that zod stays off the `run` path.

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
export const ARCHITECTURES: Record<SeccompHostArch, SeccompArch[]> = {
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

export function normalizeCap(cap: string): string {
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
