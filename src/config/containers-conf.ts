// containers.conf: which files are read, in order (a later file's keys win),
// and the [network] keys selkie uses.  CONTAINERS_CONF names the one file to
// read instead of the usual ones, as in Podman.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export function containersConfFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.CONTAINERS_CONF) return [env.CONTAINERS_CONF];
  const home = env.HOME || homedir();
  return [
    '/usr/share/containers/containers.conf',
    '/etc/containers/containers.conf',
    join(env.XDG_CONFIG_HOME || join(home, '.config'), 'containers', 'containers.conf'),
  ];
}

export interface NetworkConf {
  default_rootless_network_cmd?: string;
  /** Podman 5's [network] pasta_options: extra arguments for pasta */
  pasta_options?: string[];
}

/** The [network] table of one file's text; throws on TOML that does not parse. */
export async function parseNetworkConf(text: string): Promise<NetworkConf> {
  const { parse } = await import('smol-toml');
  const doc = parse(text) as { network?: Record<string, unknown> };
  const net = doc.network ?? {};
  const out: NetworkConf = {};
  if (typeof net.default_rootless_network_cmd === 'string') out.default_rootless_network_cmd = net.default_rootless_network_cmd;
  if (Array.isArray(net.pasta_options)) out.pasta_options = net.pasta_options.filter((o): o is string => typeof o === 'string');
  return out;
}

/** [network] merged over every file; a file that is absent or does not parse is skipped (with a warning). */
export async function networkConf(warn: (msg: string) => void = () => undefined): Promise<NetworkConf> {
  let out: NetworkConf = {};
  for (const f of containersConfFiles()) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    try {
      out = { ...out, ...(await parseNetworkConf(text)) };
    } catch (err) {
      warn(`ignoring ${f}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  return out;
}
