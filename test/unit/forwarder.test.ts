import { describe, expect, it } from 'vitest';
import { forwardArgs, type ForwardRule } from '../../src/network/forwarder';
import { namesRunDir } from '../../src/network/helper-pid';

const rule = (r: Partial<ForwardRule>): ForwardRule => ({ protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 8080, targetIp: '10.89.0.2', targetPort: 80, ...r });

describe('forwardArgs', () => {
  it('mode, netns, ready fd 3, tag, then one rule per mapping', () => {
    expect(forwardArgs('/run/x/netns', '/run/x', [rule({}), rule({ protocol: 'udp', hostPort: 5353, targetPort: 53 })])).toEqual([
      'forward',
      '/run/x/netns',
      '3',
      '/run/x',
      'tcp:127.0.0.1:8080:10.89.0.2:80',
      'udp:127.0.0.1:5353:10.89.0.2:53',
    ]);
  });
  it('an empty host IP is every IPv4 address', () => {
    expect(forwardArgs('/n', 't', [rule({ hostIp: '' })])[4]).toBe('tcp:0.0.0.0:8080:10.89.0.2:80');
  });
  it('IPv6 addresses in brackets, bracketed or not on input', () => {
    expect(forwardArgs('/n', 't', [rule({ hostIp: '::1', targetIp: '[fd00::2]' })])[4]).toBe('tcp:[::1]:8080:[fd00::2]:80');
  });
  it('rejects what the helper would', () => {
    const bad: Partial<ForwardRule>[] = [
      { hostPort: 0 },
      { hostPort: 65536 },
      { targetPort: 1.5 },
      { targetIp: '' },
      { targetIp: 'example.com' },
      { hostIp: '1.2.3' },
      { hostIp: '127.0.0.1:80' },
      { protocol: 'sctp' as 'tcp' },
    ];
    for (const b of bad) expect(() => forwardArgs('/n', 't', [rule(b)]), JSON.stringify(b)).toThrow(/port forwarding/);
    expect(() => forwardArgs('/n', 't', [])).toThrow(/no rules/);
  });
});

describe('namesRunDir', () => {
  it('matches an argument that is the run directory or a path below it, not a longer name', () => {
    const cmdline = (...args: string[]) => `${args.join('\0')}\0`;
    expect(namesRunDir(cmdline('selkie-helper', 'forward', '/r/abc/netns', '3', '/r/abc', 'tcp:...'), '/r/abc')).toBe(true);
    expect(namesRunDir(cmdline('pasta', '--pid', '/r/abc/pasta.pid'), '/r/abc')).toBe(true);
    expect(namesRunDir(cmdline('selkie-helper', 'forward', '/r/abcd/netns', '3', '/r/abcd'), '/r/abc')).toBe(false);
    expect(namesRunDir('bash\0', '/r/abc')).toBe(false);
  });
});
