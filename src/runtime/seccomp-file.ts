// Docker-format seccomp profiles from a file (`--security-opt seccomp=PATH`),
// validated with zod and converted to the OCI shape of seccomp.ts.
import { closeSync, constants as fsConstants, fstatSync, openSync, readSync } from 'node:fs';
import { release } from 'node:os';
import * as z from 'zod/mini';
import '../zod';
import {
  ARCHITECTURES,
  normalizeCap,
  SECCOMP_ACTIONS,
  SECCOMP_ARCHES,
  SECCOMP_FLAGS,
  SECCOMP_OPERATORS,
  type OciSeccomp,
  type OciSyscall,
  type SeccompAction,
  type SeccompArch,
  type SeccompHostArch,
} from './seccomp';

export const MAX_SECCOMP_PROFILE_BYTES = 1024 * 1024;

const syscallName = z.string().check(z.regex(/^[a-z_][a-z0-9_]*$/, 'must be a syscall name such as "openat"'));
// JSON numbers beyond 2^53 lose precision in JavaScript; refuse rather than filter on a wrong value.
const u64 = z.int().check(z.gte(0), z.lte(Number.MAX_SAFE_INTEGER));
const errnoValue = z.int().check(z.gte(0), z.lte(4095));
const kernelVersion = z.string().check(z.regex(/^\d+\.\d+$/, 'must be a kernel version such as "5.8"'));

const filterSchema = z.object({
  caps: z.optional(z.array(z.string())),
  arches: z.optional(z.array(z.string())),
  minKernel: z.optional(kernelVersion),
});

const argSchema = z.object({
  index: z.int().check(z.gte(0), z.lte(5)),
  value: u64,
  valueTwo: z.optional(u64),
  op: z.enum(SECCOMP_OPERATORS),
});

const syscallSchema = z.object({
  name: z.optional(syscallName),
  names: z.optional(z.array(syscallName)),
  action: z.enum(SECCOMP_ACTIONS),
  errnoRet: z.optional(errnoValue),
  args: z.nullish(z.array(argSchema)),
  comment: z.optional(z.string()),
  includes: z.optional(filterSchema),
  excludes: z.optional(filterSchema),
});

const profileSchema = z.object({
  defaultAction: z.enum(SECCOMP_ACTIONS),
  defaultErrnoRet: z.optional(errnoValue),
  architectures: z.nullish(z.array(z.enum(SECCOMP_ARCHES))),
  archMap: z.nullish(z.array(z.object({ architecture: z.enum(SECCOMP_ARCHES), subArchitectures: z.nullish(z.array(z.enum(SECCOMP_ARCHES))) }))),
  flags: z.nullish(z.array(z.enum(SECCOMP_FLAGS))),
  listenerPath: z.optional(z.string()),
  listenerMetadata: z.optional(z.string()),
  syscalls: z.nullish(z.array(syscallSchema)),
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

function formatIssues(error: z.core.$ZodError): string {
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
