// The seccomp profile compiled to BPF once, and cached by content: crun
// otherwise has libseccomp compile the same profile on every start (~18 ms
// of its ~30 ms here).  crun loads a compiled program given in the
// run.oci.seccomp_bpf_data annotation instead of the spec's linux.seccomp.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { native } from '../native/index';
import { writeFileAtomic } from '../state/atomic';
import type { OciSeccomp, SeccompAction, SeccompOperator } from './seccomp';

export const BPF_ANNOTATION = 'run.oci.seccomp_bpf_data';

const EPERM = 1;

/** libseccomp's action values (seccomp.h). */
function actionValue(action: SeccompAction, errnoRet: number | undefined): number {
  switch (action) {
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return 0;
    case 'SCMP_ACT_KILL_PROCESS':
      return 0x80000000;
    case 'SCMP_ACT_TRAP':
      return 0x00030000;
    case 'SCMP_ACT_ERRNO':
      return (0x00050000 | ((errnoRet ?? EPERM) & 0xffff)) >>> 0;
    case 'SCMP_ACT_TRACE':
      return (0x7ff00000 | ((errnoRet ?? EPERM) & 0xffff)) >>> 0;
    case 'SCMP_ACT_LOG':
      return 0x7ffc0000;
    case 'SCMP_ACT_ALLOW':
      return 0x7fff0000;
    default:
      throw new Error(`seccomp action ${action} cannot be precompiled`);
  }
}

const OPS: Record<SeccompOperator, number> = {
  SCMP_CMP_NE: 1,
  SCMP_CMP_LT: 2,
  SCMP_CMP_LE: 3,
  SCMP_CMP_EQ: 4,
  SCMP_CMP_GE: 5,
  SCMP_CMP_GT: 6,
  SCMP_CMP_MASKED_EQ: 7,
};

/** "SCMP_ARCH_X86_64" -> "x86_64", libseccomp's names. */
function archName(a: string): string {
  return a.replace(/^SCMP_ARCH_/, '').toLowerCase();
}

/** Profiles that only need what libseccomp compiles (no notify listener). */
export function canPrecompile(p: OciSeccomp): boolean {
  return !p.listenerPath && !(p.syscalls ?? []).some((s) => s.action === 'SCMP_ACT_NOTIFY') && p.defaultAction !== 'SCMP_ACT_NOTIFY';
}

export function compileProfile(p: OciSeccomp): Buffer {
  const rules = (p.syscalls ?? []).flatMap((s) => {
    const args = (s.args ?? []).map((a) => [a.index, OPS[a.op], BigInt(a.value), BigInt(a.valueTwo ?? 0)] as [number, number, bigint, bigint]);
    // Two conditions on the same argument cannot both hold: they mean "either" (crun and runc agree).
    const split = new Set(args.map((a) => a[0])).size < args.length;
    return s.names.map((name) => [name, actionValue(s.action, s.errnoRet), args, split] as [string, number, typeof args, boolean]);
  });
  return native().seccompCompile(actionValue(p.defaultAction, p.defaultErrnoRet), (p.architectures ?? []).map(archName), rules);
}

/**
 * The compiled program for a profile, from cacheDir when the same profile
 * was compiled before.  The cache entry keeps the profile it was compiled
 * from and is used only when that is identical to `p`, so a hash collision
 * can only cost a recompilation (node:crypto is not loaded on `run`).
 */
export function compiledProfile(p: OciSeccomp, cacheDir: string): Buffer {
  const json = Buffer.from(JSON.stringify(p));
  const file = join(cacheDir, `${native().fnv64(json)}.bpf`);
  // One file: the profile's length, the profile, then its program, written
  // atomically, so a program is never paired with another profile.
  try {
    const entry = readFileSync(file);
    const len = entry.readUInt32LE(0);
    if (len === json.length && entry.subarray(4, 4 + len).equals(json)) return entry.subarray(4 + len);
  } catch {
    /* not cached yet, or unreadable: compile */
  }
  const bpf = compileProfile(p);
  const head = Buffer.alloc(4);
  head.writeUInt32LE(json.length, 0);
  mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
  writeFileAtomic(file, Buffer.concat([head, json, bpf]), 0o600, false);
  return bpf;
}
