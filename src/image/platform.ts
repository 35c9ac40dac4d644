// Platforms: parsing --platform/--os/--arch/--variant and picking an image
// out of an OCI index or a Docker manifest list.
import { arch as nodeArch } from 'node:os';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

const GOARCH: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  loong64: 'loong64',
  mips: 'mips',
  mipsel: 'mipsle',
};

/** This machine's architecture in OCI (Go) terms: x64 -> amd64. */
export function goArch(): string {
  return GOARCH[nodeArch()] ?? nodeArch();
}

export function hostPlatformOf(): Platform {
  const architecture = goArch();
  return { os: 'linux', architecture, ...(architecture === 'arm64' ? { variant: 'v8' } : {}) };
}

/** "linux/arm64", "linux/arm/v7", or the separate --os/--arch/--variant flags, on top of the host's. */
export function parsePlatform(opts: { platform?: string; os?: string; arch?: string; variant?: string }): Platform {
  const host = hostPlatformOf();
  if (opts.platform) {
    const parts = opts.platform.split('/');
    if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9_]+$/.test(p))) {
      throw new Error(`invalid platform "${opts.platform}": expected os/arch[/variant], e.g. linux/arm64`);
    }
    return { os: parts[0], architecture: parts[1], ...(parts[2] ? { variant: parts[2] } : {}) };
  }
  const architecture = opts.arch ?? host.architecture;
  const variant = opts.variant ?? (opts.arch ? undefined : host.variant);
  return { os: opts.os ?? host.os, architecture, ...(variant ? { variant } : {}) };
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

interface PlatformDescriptor {
  digest: string;
  mediaType?: string;
  platform?: { os: string; architecture: string; variant?: string };
}

/**
 * The entry of an index for `want`: same os and architecture, and the same
 * variant when both name one (arm64 without a variant means v8).  Entries
 * without a platform (attestations) never match.
 */
export function choosePlatform<T extends PlatformDescriptor>(manifests: T[], want: Platform): T {
  const norm = (p: { architecture: string; variant?: string }) => p.variant ?? (p.architecture === 'arm64' ? 'v8' : undefined);
  const candidates = manifests.filter((m) => m.platform && m.platform.os === want.os && m.platform.architecture === want.architecture);
  const exact = candidates.find((m) => !want.variant || !norm(m.platform!) || norm(m.platform!) === want.variant);
  if (exact) return exact;
  const available = manifests.filter((m) => m.platform && m.platform.architecture !== 'unknown').map((m) => formatPlatform(m.platform!));
  throw new Error(
    `no image found in manifest list for architecture ${want.architecture}${want.variant ? `, variant ${want.variant}` : ''}, OS ${want.os}` +
      ` (available: ${available.join(', ') || 'none'})`,
  );
}
