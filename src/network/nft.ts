// The nftables table of the rootless network namespace: masquerade for what
// leaves a network's subnet through pasta's interface, no routing from one
// network's bridge to another's (different networks cannot reach each
// other), and nothing in or out of an --internal network's bridge.  The
// whole table is replaced in one transaction (`nft -f -`), so applying it
// again is harmless.  Pure.

export const NFT_TABLE = 'selkie';
/** every bridge selkie makes is named selkieN */
const BRIDGES = '"selkie*"';

export interface NftNetwork {
  bridge: string;
  subnet: string;
  internal: boolean;
}

export function nftRuleset(nets: NftNetwork[]): string {
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
