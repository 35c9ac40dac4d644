// The user-space port forwarder (selkie-helper forward, network/forwarder.ts)
// without containers: a network namespace of the test user's own (`unshare
// -Urn`) stands for the rootless netns, echo servers run on its loopback,
// and the forwarder runs in its user namespace (as selkie runs it in S) with
// its listeners on the host's 127.0.0.1.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopForwarder, type ForwardRule } from '../../src/network/forwarder';
import { ROOT, tempDir } from './helpers';
import { freePort, udpRoundTrip } from './net-helpers';

const HELPER = join(ROOT, 'build', 'Release', 'selkie-helper');
const DRIVER = join(ROOT, 'build', 'forwarder-itest-driver.cjs');
const work = tempDir('selkie-fwd-');
let holder: ChildProcess; // sleeps in the namespaces; its /proc/PID/ns/net is the target netns
let servers: ChildProcess;
let netns: string;
let hostPort: number; // tcp to the echo server (9000), udp to the echo server (9000)
let digestPort: number; // tcp to the digest server (9001)
let refusedPort: number; // tcp to 9002, where nothing listens
const runDir = join(work, 'run');

// In the target netns, on its 127.0.0.1: 9000/tcp echoes (half-close
// passed on), 9001/tcp answers "LENGTH SHA256" of what it read once the
// client has shut down its side, 9000/udp echoes.
const SERVERS = `
const net = require('node:net'), dgram = require('node:dgram'), crypto = require('node:crypto');
net.createServer({ allowHalfOpen: true }, (c) => c.pipe(c)).listen(9000, '127.0.0.1', () => {
  net.createServer({ allowHalfOpen: true }, (c) => {
    const h = crypto.createHash('sha256'); let n = 0;
    c.on('data', (d) => { h.update(d); n += d.length; });
    c.on('end', () => c.end(n + ' ' + h.digest('hex')));
  }).listen(9001, '127.0.0.1', () => {
    const u = dgram.createSocket('udp4');
    u.on('message', (m, r) => u.send(m, r.port, r.address));
    u.bind(9000, '127.0.0.1', () => process.stdout.write('ready\\n'));
  });
});
`;

// Runs startForwarder inside the holder's user namespace: argv is RUNDIR NETNS RULES_JSON.
const DRIVER_SRC = `
import { startForwarder } from './src/network/forwarder';
const [runDir, netns, rules] = process.argv.slice(2);
startForwarder(runDir, netns, JSON.parse(rules)).then(
  () => console.log(JSON.stringify({ ok: true })),
  (err) => console.log(JSON.stringify({ error: err.message })),
);
`;

/** argv prefix: run in the holder's user namespace (and with net, in its netns too). */
function inNs(net: boolean): string[] {
  return ['-t', String(holder.pid), '-U', ...(net ? ['-n'] : []), '--preserve-credentials'];
}


function rules(): ForwardRule[] {
  const r = (protocol: 'tcp' | 'udp', hostPort: number, targetPort: number): ForwardRule => ({ protocol, hostIp: '127.0.0.1', hostPort, targetIp: '127.0.0.1', targetPort });
  return [r('tcp', hostPort, 9000), r('udp', hostPort, 9000), r('tcp', digestPort, 9001), r('tcp', refusedPort, 9002)];
}

function startViaDriver(dir: string, ruleList: ForwardRule[]): { ok?: boolean; error?: string } {
  const r = spawnSync('nsenter', [...inNs(false), process.execPath, DRIVER, dir, netns, JSON.stringify(ruleList)], { encoding: 'utf8', timeout: 15_000 });
  if (r.status !== 0) throw new Error(`driver failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim());
}

function pidOf(dir: string): number {
  return Number(readFileSync(join(dir, 'forwarder.pid'), 'utf8'));
}

/** Connects to 127.0.0.1:PORT, sends DATA, shuts down its side and collects all it receives until the end. */
function exchange(port: number, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const c: Socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    c.on('connect', () => c.end(data));
    c.on('data', (d) => chunks.push(d));
    c.on('end', () => resolve(Buffer.concat(chunks)));
    c.on('error', reject);
  });
}


/** Whether PID ended (a zombie counts: its parent, init by now, reaps it when it will). */
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    try {
      if (/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'))) return true;
    } catch {
      return true;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

beforeAll(async () => {
  mkdirSync(runDir);
  holder = spawn('unshare', ['-Urn', 'sh', '-c', 'ip link set lo up && exec sleep 1000'], { stdio: 'ignore' });
  // Until lo is up (sleep runs after it), or the servers could not bind 127.0.0.1.
  for (let i = 0; ; i++) {
    try {
      if (readFileSync(`/proc/${holder.pid}/comm`, 'utf8').trim() === 'sleep') break;
    } catch {
      /* not yet */
    }
    if (i === 500) throw new Error('the test network namespace did not come up in 10 s');
    await new Promise((r) => setTimeout(r, 20));
  }
  netns = `/proc/${holder.pid}/ns/net`;
  const script = join(work, 'servers.js');
  writeFileSync(script, SERVERS);
  servers = spawn('nsenter', [...inNs(true), process.execPath, script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    servers.stdout!.once('data', () => resolve());
    servers.once('exit', (code) => reject(new Error(`the servers exited (${code})`)));
  });
  buildSync({
    stdin: { contents: DRIVER_SRC, resolveDir: ROOT, loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile: DRIVER,
    logLevel: 'warning',
  });
  [hostPort, digestPort, refusedPort] = [await freePort(), await freePort(), await freePort()];
  expect(startViaDriver(runDir, rules())).toEqual({ ok: true });
}, 20_000);

afterAll(() => {
  stopForwarder(runDir);
  servers?.kill('SIGKILL');
  holder?.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
  rmSync(DRIVER, { force: true });
});

describe('selkie-helper forward', () => {
  it('starts detached, recorded in RUNDIR/forwarder.pid with the run directory in its command line', () => {
    const pid = pidOf(runDir);
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    expect(argv.slice(1, 3)).toEqual(['forward', netns]);
    expect(argv).toContain(runDir);
    // Its listeners are in the host's netns, and no pipe of the (gone) starter is left open.
    for (const fd of ['0', '1', '2']) expect(spawnSync('readlink', [`/proc/${pid}/fd/${fd}`], { encoding: 'utf8' }).stdout.trim()).toBe('/dev/null');
    // Serving, it holds no capability and can gain none (it was root of its user namespace).
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) expect(new RegExp(`${set}:\\s+0+\\n`).test(status), set).toBe(true);
    expect(status).toMatch(/NoNewPrivs:\s+1/);
  });

  it('relays TCP both ways: a small echo, and 5 MB echoed back intact', async () => {
    expect(String(await exchange(hostPort, Buffer.from('hello')))).toBe('hello');
    const big = randomBytes(5 * 1024 * 1024);
    const back = await exchange(hostPort, big);
    expect(back.length).toBe(big.length);
    expect(createHash('sha256').update(back).digest('hex')).toBe(createHash('sha256').update(big).digest('hex'));
  }, 10_000);

  it('passes a half-close on: the server answers after the client shut down its side, and the client gets it', async () => {
    const data = randomBytes(5 * 1024 * 1024);
    const reply = String(await exchange(digestPort, data));
    expect(reply).toBe(`${data.length} ${createHash('sha256').update(data).digest('hex')}`);
  }, 10_000);

  it('relays UDP, replies to the right client', async () => {
    const [a, b] = await Promise.all([udpRoundTrip(hostPort, 'one'), udpRoundTrip(hostPort, 'two')]);
    expect([a, b]).toEqual(['one', 'two']);
  });

  it('closes the client connection when the target refuses it', async () => {
    const got = await new Promise<string>((resolve, reject) => {
      const c = connect({ host: '127.0.0.1', port: refusedPort });
      let data = '';
      c.on('data', (d) => (data += d));
      c.on('close', () => resolve(`closed:${data}`));
      c.on('error', () => resolve(`closed:${data}`));
      setTimeout(() => reject(new Error('still open')), 5000);
    });
    expect(got).toBe('closed:');
  });

  it('stays small: under 1 MB of private memory after the transfers', () => {
    const status = readFileSync(`/proc/${pidOf(runDir)}/status`, 'utf8');
    const anon = Number(/RssAnon:\s+(\d+) kB/.exec(status)![1]);
    expect(anon).toBeLessThan(1024);
  });

  it('a second forwarder on a port in use fails with one clear line and exit status 1', () => {
    const direct = spawnSync('nsenter', [...inNs(false), HELPER, 'forward', netns, '1', 'tag', `tcp:127.0.0.1:${hostPort}:127.0.0.1:9000`], { encoding: 'utf8' });
    expect(direct.status).toBe(1);
    expect(direct.stderr).toBe(`selkie-helper forward: cannot bind 127.0.0.1:${hostPort}/tcp: Address already in use\n`);
    const other = join(work, 'other');
    mkdirSync(other);
    const r = startViaDriver(other, [{ protocol: 'udp', hostIp: '127.0.0.1', hostPort, targetIp: '127.0.0.1', targetPort: 9000 }]);
    expect(r.error).toBe(`selkie-helper forward: cannot bind 127.0.0.1:${hostPort}/udp: Address already in use`);
    expect(existsSync(join(other, 'forwarder.pid'))).toBe(false);
    // The first one still serves.
    return udpRoundTrip(hostPort, 'still').then((m) => expect(m).toBe('still'));
  });

  it('a netns it may not join is an error before readiness', async () => {
    const r = spawnSync(HELPER, ['forward', netns, '1', 'tag', `tcp:127.0.0.1:${await freePort()}:127.0.0.1:9000`], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^selkie-helper forward: cannot join the network namespace .*: Operation not permitted\n$/);
  });

  it('SIGTERM ends it with status 0', async () => {
    const port = await freePort();
    const child = spawn('nsenter', [...inNs(false), HELPER, 'forward', netns, '3', 'tag', `tcp:127.0.0.1:${port}:127.0.0.1:9000`], {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    });
    await new Promise((r) => child.stdio[3]!.once('data', r));
    expect(String(await exchange(port, Buffer.from('up')))).toBe('up');
    const status = new Promise<[number | null, string | null]>((r) => child.once('exit', (code, sig) => r([code, sig])));
    child.kill('SIGTERM');
    expect(await status).toEqual([0, null]);
  }, 10_000);

  it('stopForwarder ends the recorded forwarder and is idempotent', async () => {
    const pid = pidOf(runDir);
    stopForwarder(runDir);
    expect(await gone(pid)).toBe(true);
    expect(existsSync(join(runDir, 'forwarder.pid'))).toBe(false);
    stopForwarder(runDir);
  });
});
