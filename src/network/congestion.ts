// TCP congestion control for the network namespaces selkie makes.
//
// A container on pasta, slirp4netns or a bridge network reaches everything
// through a user-space stack on the same machine: slirp4netns and pasta end
// each of the container's TCP connections and open their own from the host,
// whose congestion control then governs the real path.  The container's
// side of a connection is a local leg with no loss and a round trip of
// microseconds.  A new namespace takes the host's default, and on hosts that
// default to BBR (many cloud images) that leg is paced as a wide-area path:
// through slirp4netns a container sent 1.4-1.5x more to the host with Reno
// than with BBR (medians of 16 transfers each, for selkie's containers and
// Podman's alike).  Reno is the one algorithm every namespace may choose
// (the kernel always allows it; CUBIC is refused outside the host's
// namespace unless the host allows it).

import { readFileSync } from 'node:fs';

export const CONGESTION_SYSCTL = 'net.ipv4.tcp_congestion_control';

/** Algorithms that pace for a wide-area path. */
const PACED = new Set(['bbr', 'bbr2', 'bbr3']);

/**
 * The congestion control a namespace made by selkie should use instead of
 * the host's default `hostDefault`, or undefined to keep that default.
 */
export function localLegCongestion(hostDefault: string | undefined): string | undefined {
  return hostDefault !== undefined && PACED.has(hostDefault.trim()) ? 'reno' : undefined;
}

/** The host's default congestion control (what a new namespace inherits), undefined if unreadable. */
export function hostCongestionControl(): string | undefined {
  try {
    return readFileSync('/proc/sys/net/ipv4/tcp_congestion_control', 'utf8').trim();
  } catch {
    return undefined;
  }
}
