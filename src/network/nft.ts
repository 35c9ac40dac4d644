// The nftables table of the rootless network namespace: masquerade for what
// leaves a network's subnet through pasta's interface, no routing from one
// network's bridge to another's (different networks cannot reach each
// other), and nothing in or out of an --internal network's bridge.  The
// whole table is replaced in one transaction (`nft -f -`), so applying it
// again is harmless.  Pure.

import { cidrText, parseCidr } from './ipam';

export const NFT_TABLE = 'selkie';
/** every bridge selkie makes is named selkieN */
const BRIDGES = '"selkie*"';

export interface NftNetwork {
  bridge: string;
  subnet: string;
  internal: boolean;
}

export class NftValueError extends Error {}

/** The subnet and bridge of each network go into the ruleset's text: both are checked here again. */
function checkNet(n: NftNetwork): void {
  let canonical = false;
  try {
    canonical = cidrText(parseCidr(n.subnet)) === n.subnet;
  } catch {
    /* not a CIDR */
  }
  if (!canonical || !/^selkie\d{1,6}$/.test(n.bridge)) throw new NftValueError(`refusing network ${JSON.stringify(n)} in the nftables ruleset`);
}

export function nftRuleset(nets: NftNetwork[]): string {
  nets.forEach(checkNet);
  const sorted = [...nets].sort((a, b) => a.bridge.localeCompare(b.bridge));
  const forward: string[] = [];
  const post: string[] = [];
  for (const n of sorted) {
    const br = JSON.stringify(n.bridge);
    if (n.internal) {
      forward.push(`iifname ${br} oifname != ${br} drop`);
      forward.push(`oifname ${br} iifname != ${br} drop`);
    } else {
      forward.push(`iifname ${br} oifname ${BRIDGES} oifname != ${br} drop`);
      post.push(`ip saddr ${n.subnet} oifname != ${BRIDGES} masquerade`);
    }
  }
  const ind = (rules: string[]) => rules.map((r) => `\t\t${r}\n`).join('');
  return (
    `table inet ${NFT_TABLE}\n` +
    `delete table inet ${NFT_TABLE}\n` +
    `table inet ${NFT_TABLE} {\n` +
    `\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n${ind(forward)}\t}\n` +
    `\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n${ind(post)}\t}\n` +
    `}\n`
  );
}
