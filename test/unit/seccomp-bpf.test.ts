import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultSeccompProfile } from '../../src/runtime/seccomp';
import { compileProfile, compiledProfile } from '../../src/runtime/seccomp-bpf';
import { DEFAULT_CAPABILITIES } from '../../src/runtime/security';

const dir = mkdtempSync(join(tmpdir(), 'selkie-bpf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('precompiled seccomp programs', () => {
  const profile = defaultSeccompProfile({ arch: 'amd64', capabilities: DEFAULT_CAPABILITIES });
  it('compiles a profile to BPF instructions (8 bytes each)', () => {
    const bpf = compileProfile(profile);
    expect(bpf.length).toBeGreaterThan(800);
    expect(bpf.length % 8).toBe(0);
    // capabilities change the program
    const admin = compileProfile(defaultSeccompProfile({ arch: 'amd64', capabilities: [...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'] }));
    expect(admin.equals(bpf)).toBe(false);
  });
  it('caches by content and never serves a program compiled from another profile', () => {
    const a = compiledProfile(profile, dir);
    expect(readdirSync(dir)).toHaveLength(1);
    expect(compiledProfile(profile, dir).equals(a)).toBe(true);
    // A planted entry under the same name for a different profile is ignored and replaced.
    const [name] = readdirSync(dir);
    const fake = Buffer.from(JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW' }));
    const head = Buffer.alloc(4);
    head.writeUInt32LE(fake.length, 0);
    writeFileSync(join(dir, name), Buffer.concat([head, fake, Buffer.alloc(8)]));
    expect(compiledProfile(profile, dir).equals(a)).toBe(true);
    writeFileSync(join(dir, name), 'garbage');
    expect(compiledProfile(profile, dir).equals(a)).toBe(true);
  });
  it('refuses actions it cannot express', () => {
    expect(() => compileProfile({ defaultAction: 'SCMP_ACT_NOTIFY' as never })).toThrow(/cannot be precompiled/);
  });
});
