// Published ports of a container on a bridge network: the port forwarder
// (network/forwarder.ts, selkie-helper forward) listens on the host's ports
// and connects from the rootless netns to the container's address on its
// first network, as Podman's rootlessport does.
import { forwardRules, startForwarder, stopForwarder } from './forwarder';
import type { PortMapping } from './ports';

export async function startPortForwarding(runDir: string, rootlessNetns: string, ports: PortMapping[], targetIp: string): Promise<void> {
  if (!ports.length) return;
  await startForwarder(runDir, rootlessNetns, forwardRules(ports, targetIp));
}

export function stopPortForwarding(runDir: string): void {
  stopForwarder(runDir);
}
