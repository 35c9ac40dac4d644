import { describe, expect, it } from 'vitest';
import { localLegCongestion } from '../../src/network/congestion';

describe('localLegCongestion', () => {
  it('replaces the pacing BBR family with Reno', () => {
    for (const cc of ['bbr', 'bbr2', 'bbr3', 'bbr\n']) expect(localLegCongestion(cc), cc).toBe('reno');
  });
  it("keeps every other default, and an unreadable one, as the host's", () => {
    for (const cc of ['cubic', 'reno', 'dctcp', 'htcp', '', undefined]) expect(localLegCongestion(cc), String(cc)).toBeUndefined();
  });
});
