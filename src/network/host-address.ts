// The address by which a container reaches the host: what
// host.containers.internal names in its /etc/hosts, and what
// `--add-host NAME:host-gateway` stands for (Podman's and Docker's names).
//  - slirp4netns: the host's first IPv4 address outside loopback and
//    link-local; slirp4netns connects to it from the host, as Podman 4 has it.
//  - pasta: the gateway address when the options map it to the host's
//    loopback (--map-gw), or the address --map-host-loopback names.  Without
//    either there is none: pasta gives the container the host's own address,
//    so that address leads back into the container.
//  - host: 127.0.0.1.
//  - none, container:OTHER and user-defined networks: none (a user-defined
//    network reaches the host only through its rootless namespace's pasta,
//    whose options this container does not choose).
import { networkInterfaces } from 'node:os';
import { defaultGateway, readProcRoutes } from './ipam';
import type { NetworkKind } from './mode';
import { pastaHostLoopback } from './setup';

/** What the host offers, asked only when the answer depends on it. */
export interface HostView {
  /** IPv4 addresses of the host's interfaces, in the kernel's order, with their flags */
  addresses(): { address: string; internal: boolean }[];
  /** /proc/net/route */
  routes(): string;
  /** whether the installed pasta has this option */
  pastaKnows?(option: string): boolean;
}

const systemView: HostView = {
  addresses: () =>
    Object.values(networkInterfaces())
      .flat()
      .filter((a) => a !== undefined && a.family === 'IPv4')
      .map((a) => ({ address: a!.address, internal: a!.internal })),
  routes: readProcRoutes,
};

export function hostAddress(network: NetworkKind, options: string[], view: HostView = systemView): string | undefined {
  switch (network) {
    case 'slirp4netns':
      return view.addresses().find((a) => !a.internal && !a.address.startsWith('127.') && !a.address.startsWith('169.254.'))?.address;
    case 'pasta': {
      const m = pastaHostLoopback(options, view.pastaKnows);
      if (m.address) return m.address;
      return m.viaGateway ? defaultGateway(view.routes()) : undefined;
    }
    case 'host':
      return '127.0.0.1';
    default:
      return undefined;
  }
}
