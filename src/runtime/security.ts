// Capabilities, --security-opt parsing and masked/read-only /proc and /sys paths,
// with Podman's rootless defaults and semantics.

import { isAbsolute, resolve } from 'node:path';

/** Podman's rootless default capability set (containers.conf default_capabilities). */
export const DEFAULT_CAPABILITIES: string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_NET_BIND_SERVICE',
  'CAP_SETFCAP',
  'CAP_SETGID',
  'CAP_SETPCAP',
  'CAP_SETUID',
  'CAP_SYS_CHROOT',
];

/** Every Linux capability, in kernel number order (0 = CAP_CHOWN ... 40 = CAP_CHECKPOINT_RESTORE). */
export const ALL_CAPABILITIES: string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

const KNOWN_CAPS = new Set(ALL_CAPABILITIES);

/** 'net_admin', 'NET_ADMIN', 'cap_net_admin' -> 'CAP_NET_ADMIN'; 'all' -> 'ALL'. */
function normalizeCapability(name: string): string {
  const upper = name.trim().toUpperCase();
  if (upper === 'ALL') return 'ALL';
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!KNOWN_CAPS.has(full)) {
    throw new Error(`unknown capability "${name}" (use a name from capabilities(7) such as NET_ADMIN, or ALL)`);
  }
  return full;
}

/**
 * --cap-add/--cap-drop as Podman merges them over the default set: names are
 * case-insensitive with or without CAP_, 'ALL' is allowed; dropping ALL leaves only
 * the added ones; adding ALL starts from every capability. --privileged gets every
 * capability (add/drop are still checked for typos). Sorted by name, as Podman does.
 */
export function resolveCapabilities(opts: { add?: string[]; drop?: string[]; privileged?: boolean }): string[] {
  const add = (opts.add ?? []).map(normalizeCapability);
  const drop = (opts.drop ?? []).map(normalizeCapability);
  if (opts.privileged) return [...ALL_CAPABILITIES].sort();

  const addAll = add.includes('ALL');
  const dropAll = drop.includes('ALL');
  if (addAll && dropAll) throw new Error('adding all capabilities and dropping all capabilities is not allowed');
  if (!addAll) {
    for (const cap of add) {
      if (drop.includes(cap)) throw new Error(`capability "${cap}" cannot be both dropped and added`);
    }
  }

  // Drop ALL first, then the additions.
  if (dropAll) return [...new Set(add)].sort();

  const result = new Set(addAll ? ALL_CAPABILITIES : DEFAULT_CAPABILITIES);
  for (const cap of drop) result.delete(cap);
  if (!addAll) for (const cap of add) result.add(cap);
  return [...result].sort();
}

/** Podman's default masked paths (containers.conf), plus /proc/interrupts as current Docker and Podman mask it. */
export const MASKED_PATHS: string[] = [
  '/proc/acpi',
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/sys/dev/block',
  '/sys/devices/virtual/powercap',
  '/sys/firmware',
  '/sys/fs/selinux',
];

/** Podman's default read-only paths. */
export const READONLY_PATHS: string[] = [
  '/proc/asound',
  '/proc/bus',
  '/proc/fs',
  '/proc/irq',
  '/proc/sys',
  '/proc/sysrq-trigger',
];

export interface SecurityOptions {
  noNewPrivileges: boolean;
  seccomp: 'default' | 'unconfined' | { path: string };
  labelDisable: boolean;
  apparmor?: string;
  /** Extra paths to mask (absolute). */
  mask: string[];
  /** Default masked/read-only paths to expose: 'ALL' or absolute paths / globs. */
  unmask: string[];
}

// Go's %q for the strings we quote (printable ASCII in practice).
const q = (s: string): string => JSON.stringify(s);

/** Go's strconv.ParseBool, which Podman uses for no-new-privileges=VALUE. */
function parseGoBool(value: string): boolean | undefined {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  return undefined;
}

/** Translates a Go filepath.Match pattern into an anchored RegExp; throws on a malformed one. */
function globToRegExp(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\') {
      i++;
      if (i >= pattern.length) throw new Error('trailing backslash');
      re += escapeRe(pattern[i]);
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) throw new Error('unterminated character class');
      let body = pattern.slice(i + 1, end);
      const negate = body.startsWith('^');
      if (negate) body = body.slice(1);
      if (body === '') throw new Error('empty character class');
      re += `[${negate ? '^' : ''}${body.replace(/[\]\\^]/g, '\\$&')}]`;
      i = end;
    } else re += escapeRe(c);
  }
  return new RegExp(`${re}$`);
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function splitPaths(opt: string, value: string, allowAll: boolean): string[] {
  const out: string[] = [];
  for (const p of value.split(':')) {
    if (p === '') continue;
    if (allowAll && p.toUpperCase() === 'ALL') {
      out.push('ALL');
      continue;
    }
    if (!isAbsolute(p)) throw new Error(`invalid --security-opt ${q(opt)}: path ${q(p)} is not absolute`);
    if (allowAll) {
      try {
        globToRegExp(p);
      } catch (e) {
        throw new Error(`invalid --security-opt ${q(opt)}: bad pattern ${q(p)}: ${(e as Error).message}`);
      }
    }
    out.push(p);
  }
  if (out.length === 0) throw new Error(`invalid --security-opt ${q(opt)}: no paths given`);
  return out;
}

/**
 * Parses repeated --security-opt values as Podman does, including Docker's legacy
 * `key:value` form. Later values win for single-valued keys; mask/unmask accumulate.
 */
export function parseSecurityOpts(values: string[]): SecurityOptions {
  const out: SecurityOptions = { noNewPrivileges: false, seccomp: 'default', labelDisable: false, mask: [], unmask: [] };
  for (const opt of values) {
    if (opt === 'no-new-privileges') {
      out.noNewPrivileges = true;
      continue;
    }
    // Docker deprecated "key:value" but still accepts it; "=" wins when both appear.
    const sep = opt.includes('=') ? '=' : ':';
    const at = opt.indexOf(sep);
    if (at < 0) throw new Error(`invalid --security-opt 1: ${q(opt)}`);
    const key = opt.slice(0, at);
    const value = opt.slice(at + 1);
    const invalid2 = (why?: string): never => {
      throw new Error(`invalid --security-opt 2: ${q(opt)}${why ? `: ${why}` : ''}`);
    };

    switch (key) {
      case 'no-new-privileges': {
        const b = parseGoBool(value);
        if (b === undefined) invalid2('expected true or false');
        out.noNewPrivileges = b as boolean;
        break;
      }
      case 'seccomp':
        if (value === 'unconfined') out.seccomp = 'unconfined';
        else if (value === '') invalid2('expected "unconfined" or the path of a JSON seccomp profile');
        // Resolved now so a later change of working directory cannot change which file is read.
        else out.seccomp = { path: resolve(value) };
        break;
      case 'label':
        // SELinux is absent here: accept Podman's forms so scripts keep working.
        if (value === 'disable') out.labelDisable = true;
        else if (value === 'nested') break;
        else if (!/^(user|role|type|level|filetype):./.test(value)) {
          invalid2('expected disable, nested, or user:, role:, type:, level:, filetype: followed by a value');
        }
        break;
      case 'apparmor':
        if (value === '') invalid2('expected "unconfined" or a profile name');
        out.apparmor = value;
        break;
      case 'mask':
        out.mask.push(...splitPaths(opt, value, false));
        break;
      case 'unmask':
        out.unmask.push(...splitPaths(opt, value, true));
        break;
      case 'systempaths':
        if (value !== 'unconfined') throw new Error(`invalid systempaths option ${q(value)}, only "unconfined" is supported`);
        out.unmask.push('ALL');
        break;
      case 'proc-opts':
        throw new Error(`--security-opt ${q(opt)}: proc-opts is not supported by selkie`);
      default:
        invalid2();
    }
  }
  out.mask = [...new Set(out.mask)];
  out.unmask = [...new Set(out.unmask)];
  return out;
}

/** Podman's shouldMask: false when an unmask entry is ALL or a glob matching the path. */
function shouldMask(path: string, unmask: string[]): boolean {
  for (const u of unmask) {
    if (u.toUpperCase() === 'ALL') return false;
    for (const pattern of u.split(':')) {
      let re: RegExp;
      try {
        re = globToRegExp(pattern);
      } catch {
        continue; // Podman logs and ignores a malformed pattern
      }
      if (re.test(path)) return false;
    }
  }
  return true;
}

/**
 * Final masked/read-only path lists. --privileged drops the defaults (as Podman), but
 * paths the user masked explicitly with mask= are still masked.
 */
export function maskedAndReadonlyPaths(sec: SecurityOptions, privileged: boolean): { masked: string[]; readonly: string[] } {
  const masked = privileged ? [] : MASKED_PATHS.filter((p) => shouldMask(p, sec.unmask));
  const readonly = privileged ? [] : READONLY_PATHS.filter((p) => shouldMask(p, sec.unmask));
  for (const p of sec.mask) if (!masked.includes(p)) masked.push(p);
  return { masked, readonly };
}
