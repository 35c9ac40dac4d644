// Published ports of a container on a bridge network: the one place that
// hands them to the port forwarder (network/forwarder.ts, a separate piece
// of work: `startForwarder(runDir, rootlessNetnsPath, rules)` and
// `stopForwarder(runDir)`).  Until that module is part of this tree, -p with
// a bridge network is refused at create (network/config.ts) and these do
// nothing; wiring it up means importing it here and setting the flag.
import type { PortMapping } from './ports';

export const FORWARDER_AVAILABLE = false;

export interface ForwardRule {
  protocol: 'tcp' | 'udp';
  hostIp: string;
  hostPort: number;
  targetIp: string;
  targetPort: number;
}

export function forwardRules(ports: PortMapping[], targetIp: string): ForwardRule[] {
  return ports.map((p) => ({ protocol: p.protocol, hostIp: p.hostIp, hostPort: p.hostPort, targetIp, targetPort: p.containerPort }));
}

export async function startPortForwarding(runDir: string, rootlessNetns: string, ports: PortMapping[], targetIp: string): Promise<void> {
  if (!ports.length) return;
  void runDir;
  void rootlessNetns;
  void targetIp;
  throw new Error('publishing ports on a bridge network needs the port forwarder, which this build does not have yet');
}

export function stopPortForwarding(runDir: string): void {
  void runDir;
}
