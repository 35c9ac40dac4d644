import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ALL_CAPABILITIES,
  DEFAULT_CAPABILITIES,
  MASKED_PATHS,
  READONLY_PATHS,
  maskedAndReadonlyPaths,
  parseSecurityOpts,
  resolveCapabilities,
  type SecurityOptions,
} from '../../src/runtime/security';

describe('capability tables', () => {
  it('has Podman rootless defaults', () => {
    expect(DEFAULT_CAPABILITIES).toEqual([
      'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_NET_BIND_SERVICE',
      'CAP_SETFCAP', 'CAP_SETGID', 'CAP_SETPCAP', 'CAP_SETUID', 'CAP_SYS_CHROOT',
    ]);
    for (const c of DEFAULT_CAPABILITIES) expect(ALL_CAPABILITIES).toContain(c);
  });

  it('lists all 41 capabilities in kernel order', () => {
    expect(ALL_CAPABILITIES).toHaveLength(41);
    expect(new Set(ALL_CAPABILITIES).size).toBe(41);
    expect(ALL_CAPABILITIES[0]).toBe('CAP_CHOWN');
    expect(ALL_CAPABILITIES[21]).toBe('CAP_SYS_ADMIN');
    expect(ALL_CAPABILITIES[40]).toBe('CAP_CHECKPOINT_RESTORE');
  });
});

describe('resolveCapabilities', () => {
  it('returns the defaults, sorted', () => {
    expect(resolveCapabilities({})).toEqual([...DEFAULT_CAPABILITIES].sort());
  });

  it('adds and drops names in any case, with or without CAP_', () => {
    const caps = resolveCapabilities({ add: ['net_admin', 'CAP_SYS_PTRACE', 'Sys_Time'], drop: ['chown', 'CAP_KILL'] });
    expect(caps).toContain('CAP_NET_ADMIN');
    expect(caps).toContain('CAP_SYS_PTRACE');
    expect(caps).toContain('CAP_SYS_TIME');
    expect(caps).not.toContain('CAP_CHOWN');
    expect(caps).not.toContain('CAP_KILL');
    expect(caps).toEqual([...caps].sort());
  });

  it('drops ALL first, then adds', () => {
    expect(resolveCapabilities({ drop: ['ALL'] })).toEqual([]);
    expect(resolveCapabilities({ drop: ['all'], add: ['NET_BIND_SERVICE', 'chown'] })).toEqual(['CAP_CHOWN', 'CAP_NET_BIND_SERVICE']);
  });

  it('adds ALL, minus drops', () => {
    const caps = resolveCapabilities({ add: ['ALL'], drop: ['SYS_ADMIN'] });
    expect(caps).toHaveLength(40);
    expect(caps).not.toContain('CAP_SYS_ADMIN');
  });

  it('gives every capability to --privileged', () => {
    expect(resolveCapabilities({ privileged: true, drop: ['ALL'] })).toEqual([...ALL_CAPABILITIES].sort());
  });

  it('rejects unknown names and contradictions', () => {
    expect(() => resolveCapabilities({ add: ['NET_FOO'] })).toThrow('unknown capability "NET_FOO"');
    expect(() => resolveCapabilities({ drop: ['CAP_BOGUS'] })).toThrow('unknown capability "CAP_BOGUS"');
    expect(() => resolveCapabilities({ add: [''] })).toThrow('unknown capability ""');
    expect(() => resolveCapabilities({ privileged: true, add: ['nope'] })).toThrow('unknown capability "nope"');
    expect(() => resolveCapabilities({ add: ['ALL'], drop: ['ALL'] })).toThrow(/not allowed/);
    expect(() => resolveCapabilities({ add: ['chown'], drop: ['CAP_CHOWN'] })).toThrow('capability "CAP_CHOWN" cannot be both dropped and added');
  });
});

describe('parseSecurityOpts', () => {
  const base: SecurityOptions = { noNewPrivileges: false, seccomp: 'default', labelDisable: false, mask: [], unmask: [] };

  it('has secure defaults for no options', () => {
    expect(parseSecurityOpts([])).toEqual(base);
  });

  it('parses no-new-privileges forms', () => {
    expect(parseSecurityOpts(['no-new-privileges']).noNewPrivileges).toBe(true);
    expect(parseSecurityOpts(['no-new-privileges=true']).noNewPrivileges).toBe(true);
    expect(parseSecurityOpts(['no-new-privileges:1']).noNewPrivileges).toBe(true);
    expect(parseSecurityOpts(['no-new-privileges', 'no-new-privileges=false']).noNewPrivileges).toBe(false);
    expect(() => parseSecurityOpts(['no-new-privileges=yes'])).toThrow('invalid --security-opt 2: "no-new-privileges=yes"');
  });

  it('parses seccomp', () => {
    expect(parseSecurityOpts(['seccomp=unconfined']).seccomp).toBe('unconfined');
    expect(parseSecurityOpts(['seccomp:unconfined']).seccomp).toBe('unconfined');
    expect(parseSecurityOpts(['seccomp=/etc/profile.json']).seccomp).toEqual({ path: '/etc/profile.json' });
    expect(parseSecurityOpts(['seccomp=rel/p.json']).seccomp).toEqual({ path: resolve('rel/p.json') });
    expect(() => parseSecurityOpts(['seccomp='])).toThrow('invalid --security-opt 2: "seccomp="');
  });

  it('accepts label options without SELinux', () => {
    expect(parseSecurityOpts(['label=disable']).labelDisable).toBe(true);
    expect(parseSecurityOpts(['label:disable']).labelDisable).toBe(true);
    expect(parseSecurityOpts(['label=type:spc_t', 'label=level:s0:c1,c2', 'label=user:u', 'label=role:r', 'label=nested'])).toEqual(base);
    expect(() => parseSecurityOpts(['label=bogus'])).toThrow('invalid --security-opt 2: "label=bogus"');
    expect(() => parseSecurityOpts(['label=type:'])).toThrow(/invalid --security-opt 2/);
  });

  it('parses apparmor', () => {
    expect(parseSecurityOpts(['apparmor=unconfined']).apparmor).toBe('unconfined');
    expect(parseSecurityOpts(['apparmor=my-profile']).apparmor).toBe('my-profile');
    expect(() => parseSecurityOpts(['apparmor='])).toThrow(/invalid --security-opt 2/);
  });

  it('parses mask, unmask and systempaths', () => {
    const s = parseSecurityOpts(['mask=/a:/b', 'mask=/b', 'unmask=/proc/kcore:/sys/*']);
    expect(s.mask).toEqual(['/a', '/b']);
    expect(s.unmask).toEqual(['/proc/kcore', '/sys/*']);
    expect(parseSecurityOpts(['unmask=ALL']).unmask).toEqual(['ALL']);
    expect(parseSecurityOpts(['unmask=all']).unmask).toEqual(['ALL']);
    expect(parseSecurityOpts(['systempaths=unconfined']).unmask).toEqual(['ALL']);
    expect(() => parseSecurityOpts(['systempaths=confined'])).toThrow('invalid systempaths option "confined", only "unconfined" is supported');
    expect(() => parseSecurityOpts(['mask=relative'])).toThrow(/not absolute/);
    expect(() => parseSecurityOpts(['mask=ALL'])).toThrow(/not absolute/);
    expect(() => parseSecurityOpts(['unmask=/proc/[k'])).toThrow(/bad pattern/);
    expect(() => parseSecurityOpts(['mask='])).toThrow(/no paths/);
  });

  it('words unknown and malformed options as Podman does', () => {
    expect(() => parseSecurityOpts(['bogus'])).toThrow('invalid --security-opt 1: "bogus"');
    expect(() => parseSecurityOpts(['label'])).toThrow('invalid --security-opt 1: "label"');
    expect(() => parseSecurityOpts(['foo=bar'])).toThrow('invalid --security-opt 2: "foo=bar"');
    expect(() => parseSecurityOpts(['foo:bar'])).toThrow('invalid --security-opt 2: "foo:bar"');
    expect(() => parseSecurityOpts(['proc-opts=hidepid=2'])).toThrow(/not supported/);
  });
});

describe('maskedAndReadonlyPaths', () => {
  const opts = (...v: string[]) => parseSecurityOpts(v);

  it('has Podman defaults', () => {
    expect(MASKED_PATHS).toEqual(expect.arrayContaining(['/proc/kcore', '/proc/keys', '/sys/firmware', '/proc/acpi', '/proc/scsi']));
    expect(READONLY_PATHS).toEqual(['/proc/asound', '/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);
    expect(maskedAndReadonlyPaths(opts(), false)).toEqual({ masked: MASKED_PATHS, readonly: READONLY_PATHS });
  });

  it('unmasks listed paths and globs from both lists', () => {
    const r = maskedAndReadonlyPaths(opts('unmask=/proc/kcore:/proc/sys'), false);
    expect(r.masked).not.toContain('/proc/kcore');
    expect(r.masked).toContain('/proc/keys');
    expect(r.readonly).not.toContain('/proc/sys');
    const g = maskedAndReadonlyPaths(opts('unmask=/sys/*'), false);
    // '*' stops at '/', as in Go's filepath.Match.
    expect(g.masked.filter((p) => p.startsWith('/sys/')).sort()).toEqual(['/sys/dev/block', '/sys/devices/virtual/powercap', '/sys/fs/selinux']);
    expect(g.masked).not.toContain('/sys/firmware');
    expect(maskedAndReadonlyPaths(opts('unmask=ALL'), false)).toEqual({ masked: [], readonly: [] });
    expect(maskedAndReadonlyPaths(opts('systempaths=unconfined'), false)).toEqual({ masked: [], readonly: [] });
  });

  it('adds user masks, also when privileged', () => {
    const r = maskedAndReadonlyPaths(opts('mask=/data/secret:/proc/kcore'), false);
    expect(r.masked).toContain('/data/secret');
    expect(r.masked.filter((p) => p === '/proc/kcore')).toHaveLength(1);
    expect(maskedAndReadonlyPaths(opts(), true)).toEqual({ masked: [], readonly: [] });
    expect(maskedAndReadonlyPaths(opts('mask=/x'), true)).toEqual({ masked: ['/x'], readonly: [] });
  });

  it('does not let the caller mutate the defaults', () => {
    const r = maskedAndReadonlyPaths(opts(), false);
    r.masked.push('/evil');
    expect(MASKED_PATHS).not.toContain('/evil');
  });
});
