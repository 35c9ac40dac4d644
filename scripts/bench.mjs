// npm run bench: `selkie run --rm IMAGE true` against bare crun on an
// equivalent bundle and against Podman, all in one process, interleaved
// round-robin so that machine noise falls on every peer alike.  Reports
// medians, spread and ratios (never absolute targets: this machine is noisy).
// Then detached containers (monitor memory, exec), networking (start latency
// per network, TCP throughput) and pulls.  BENCH_NO_RUN, BENCH_NO_DETACHED,
// BENCH_NO_NET, BENCH_NO_PULL skip a section; BENCH_NO_PODMAN leaves Podman
// out; BENCH_RUNS, BENCH_NET_RUNS, BENCH_NET_SECONDS, BENCH_NET_MAX_MIB and
// BENCH_PULLS size them.  STAGE_NAME (as root) names the staged copy.
//
// Runs as the calling user; as root it re-runs itself as the test user of
// scripts/setup-host.sh on a copy of this tree (as `npm test` does).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { busyboxEntries, tarOf, writeDockerArchive } from './fixtures.mjs';
import { startRegistry, writeRegistriesConf } from './registry.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 30);

if (process.getuid() === 0) {
  const user = process.env.SELKIE_TEST_USER ?? 'selkietest';
  const stage = execFileSync('bash', [join(root, 'scripts/stage-for-user.sh'), user], { encoding: 'utf8' }).trim();
  const uid = execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim();
  const home = execFileSync('getent', ['passwd', user], { encoding: 'utf8' }).split(':')[5];
  const r = spawnSync('runuser', ['-u', user, '--', 'env', `HOME=${home}`, `XDG_RUNTIME_DIR=/run/user/${uid}`, `BENCH_RUNS=${RUNS}`, process.execPath, join(stage, 'scripts/bench.mjs')], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const selkie = join(root, 'bin/selkie');
const work = mkdtempSync(join(tmpdir(), 'selkie-bench-'));
const IMG = 'localhost/bench-busybox:latest';

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

// ---- fixtures --------------------------------------------------------------
// IMG is busybox as images like docker.io/library/busybox are: every file
// root's.  IMG_OWNERS has files of several owners (0, 33, 1000), which
// need fuse-overlayfs to show right inside a container's own ID block.
const archive = join(work, 'busybox.tar');
const rootOwned = busyboxEntries().map((e) => ({ ...e, uid: 0, gid: 0 }));
await writeDockerArchive(archive, { repoTag: IMG, layers: [rootOwned] });
sh(selkie, ['load', '-i', archive]);
const IMG_OWNERS = 'localhost/bench-busybox-owners:latest';
const archiveOwners = join(work, 'busybox-owners.tar');
await writeDockerArchive(archiveOwners, { repoTag: IMG_OWNERS });
sh(selkie, ['load', '-i', archiveOwners]);

const usePodman = have('podman') && !process.env.BENCH_NO_PODMAN;
if (usePodman) sh('podman', ['load', '-i', archive], { stdio: 'ignore' });

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (f) => s[Math.min(s.length - 1, Math.floor(f * s.length))];
  return { median: q(0.5), p10: q(0.1), p90: q(0.9), min: s[0], max: s[s.length - 1] };
}
const fmt = (x) => x.toFixed(1).padStart(7);

/** Times each peer's command RUNS times, round-robin, after 3 warm-up runs each. */
function timeInterleaved(peers) {
  for (const p of peers) {
    p.times = [];
    for (let i = 0; i < 3; i++) sh(p.cmd, p.args, { env: p.env }); // warm caches, create sessions
  }
  for (let i = 0; i < RUNS; i++) {
    for (const p of peers) {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(p.cmd, p.args, { stdio: ['ignore', 'ignore', 'pipe'], env: p.env });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r.status !== 0) throw new Error(`${p.name} failed: ${r.stderr}`);
      p.times.push(ms);
    }
  }
  for (const p of peers) p.s = stats(p.times);
}
function printTimes(peers) {
  console.log(`${'peer'.padEnd(58)} ${'median'.padStart(7)} ${'p10'.padStart(7)} ${'p90'.padStart(7)} ${'min'.padStart(7)} ${'max'.padStart(7)}`);
  for (const p of peers) console.log(`${p.name.padEnd(58)} ${fmt(p.s.median)} ${fmt(p.s.p10)} ${fmt(p.s.p90)} ${fmt(p.s.min)} ${fmt(p.s.max)}`);
}

// ---- run --rm ------------------------------------------------------------------
if (!process.env.BENCH_NO_RUN) {
  // An equivalent prepared bundle for bare crun: the same busybox files as a
  // plain directory, and the spec selkie itself writes, minus what only makes
  // sense inside selkie's session namespace (crun maps just the caller).
  const bundle = join(work, 'bundle');
  const rootfs = join(bundle, 'rootfs');
  mkdirSync(rootfs, { recursive: true });
  writeFileSync(join(work, 'rootfs.tar'), await tarOf(busyboxEntries().map((e) => ({ ...e, uid: 0, gid: 0 }))));
  sh('tar', ['-xf', join(work, 'rootfs.tar'), '-C', rootfs, '--no-same-owner']);
  const spec = (() => {
    // Ask selkie for the spec of a created container, then adapt it.
    spawnSync(selkie, ['rm', '-f', 'bench-spec']);
    sh(selkie, ['create', '--name', 'bench-spec', '--network', 'none', IMG, 'true']);
    const r = spawnSync(selkie, ['start', '-a', 'bench-spec'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`selkie start failed: ${r.stderr}`);
    const runDir = JSON.parse(sh(selkie, ['inspect', 'bench-spec']))[0].OCIConfigPath;
    const s = JSON.parse(readFileSync(runDir, 'utf8'));
    sh(selkie, ['rm', 'bench-spec']);
    return s;
  })();
  spec.root = { path: 'rootfs', readonly: false };
  spec.mounts = spec.mounts.filter((m) => m.type !== 'bind');
  spec.linux.uidMappings = [{ containerID: 0, hostID: process.getuid(), size: 1 }];
  spec.linux.gidMappings = [{ containerID: 0, hostID: process.getgid(), size: 1 }];
  spec.mounts = spec.mounts.map((m) => (m.type === 'devpts' ? { ...m, options: m.options.filter((o) => o !== 'gid=5') } : m));
  // The ping group range names the container's groups: here only group 0.
  if (spec.linux.sysctl?.['net.ipv4.ping_group_range']) spec.linux.sysctl['net.ipv4.ping_group_range'] = '0 0';
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
  const crunRoot = join(work, 'crun-state');

  const peers = [
    { name: 'selkie run --rm (own userns; root-owned image: overlay)', cmd: selkie, args: ['run', '--rm', '--network', 'none', IMG, 'true'] },
    { name: 'selkie run --rm --userns=host (kernel overlay)', cmd: selkie, args: ['run', '--rm', '--network', 'none', '--userns=host', IMG, 'true'] },
    { name: 'selkie run --rm (own userns; several owners: fuse-overlayfs)', cmd: selkie, args: ['run', '--rm', '--network', 'none', IMG_OWNERS, 'true'] },
    { name: 'crun run (bare, prepared bundle)', cmd: 'crun', args: ['--cgroup-manager=disabled', `--root=${crunRoot}`, 'run', `--bundle=${bundle}`, 'bench-crun'] },
  ];
  if (usePodman) {
    peers.push({ name: 'podman run --rm --network none', cmd: 'podman', args: ['run', '--rm', '--network', 'none', IMG, 'true'] });
  }

  timeInterleaved(peers);
  console.log(`\nselkie run --rm benchmark: ${RUNS} runs each, interleaved (ms)\n`);
  printTimes(peers);
  const crun = peers.find((p) => p.cmd === 'crun').s.median;
  const podman = peers.find((p) => p.cmd === 'podman')?.s.median;
  console.log('\nratios of medians:');
  for (const p of peers.filter((x) => x.cmd === selkie)) {
    const parts = [`${(p.s.median / crun).toFixed(2)}x bare crun (target <= 5)`];
    if (podman) parts.push(`${(p.s.median / podman).toFixed(2)}x podman (target <= 0.33)`);
    console.log(`  ${p.name}: ${parts.join(', ')}`);
  }
}

// ---- detached containers: monitor memory, exec ------------------------------
// Resident memory each idle detached container adds outside itself (its
// monitor and any helper: conmon here, for both engines), and `exec C true`.
if (!process.env.BENCH_NO_DETACHED) {
  const N = 5;
  /** VmRSS and PSS (shared pages split among their users) of a process, in KiB. */
  const memOf = (pid) => {
    const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    let pss = 0;
    try {
      pss = Number(/Pss:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
    } catch {
      /* no smaps_rollup */
    }
    return { rss, pss };
  };
  const engines = [{ name: 'selkie', cmd: selkie, run: ['run', '-d', '--network', 'none'] }];
  if (usePodman) engines.push({ name: 'podman', cmd: 'podman', run: ['run', '-d', '--network', 'none'] });
  const mem = {};
  for (const e of engines) {
    const names = Array.from({ length: N }, (_, i) => `bench-idle-${i}`);
    for (const n of names) spawnSync(e.cmd, ['rm', '-f', n], { stdio: 'ignore' });
    for (const n of names) sh(e.cmd, [...e.run, '--name', n, IMG, 'sleep', '1000']);
    spawnSync('sleep', ['1']);
    let rss = 0;
    let pss = 0;
    for (const n of names) {
      const pid = Number(sh(e.cmd, ['inspect', '-f', '{{.State.ConmonPid}}', n]).trim());
      const m = memOf(pid);
      rss += m.rss;
      pss += m.pss;
    }
    mem[e.name] = { rss: rss / N, pss: pss / N };
    for (const n of names) sh(e.cmd, ['rm', '-f', n]);
  }
  // exec: interleaved, one running container each.
  const execPeers = [];
  for (const e of engines) {
    spawnSync(e.cmd, ['rm', '-f', 'bench-exec'], { stdio: 'ignore' });
    sh(e.cmd, [...e.run, '--name', 'bench-exec', IMG, 'sleep', '1000']);
    execPeers.push({ name: `${e.name} exec CONTAINER true`, cmd: e.cmd, args: ['exec', 'bench-exec', 'true'], times: [] });
  }
  for (const p of execPeers) for (let i = 0; i < 3; i++) sh(p.cmd, p.args);
  for (let i = 0; i < RUNS; i++) {
    for (const p of execPeers) {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(p.cmd, p.args, { stdio: ['ignore', 'ignore', 'pipe'] });
      p.times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (r.status !== 0) throw new Error(`${p.name} failed: ${r.stderr}`);
    }
  }
  for (const e of engines) spawnSync(e.cmd, ['rm', '-f', 'bench-exec'], { stdio: 'ignore' });
  console.log(`\ndetached containers: memory of each idle container's monitor (mean of ${N}, KiB)\n`);
  console.log(`${'engine'.padEnd(58)} ${'RSS'.padStart(7)} ${'PSS'.padStart(7)}`);
  for (const [name, m] of Object.entries(mem)) console.log(`${name.padEnd(58)} ${fmt(m.rss)} ${fmt(m.pss)}`);
  console.log(`\nexec: ${RUNS} runs each, interleaved (ms)\n`);
  console.log(`${'peer'.padEnd(58)} ${'median'.padStart(7)} ${'p10'.padStart(7)} ${'p90'.padStart(7)} ${'min'.padStart(7)} ${'max'.padStart(7)}`);
  for (const p of execPeers) {
    p.s = stats(p.times);
    console.log(`${p.name.padEnd(58)} ${fmt(p.s.median)} ${fmt(p.s.p10)} ${fmt(p.s.p90)} ${fmt(p.s.min)} ${fmt(p.s.max)}`);
  }
  if (mem.podman) {
    console.log('\nratios:');
    console.log(`  monitor memory per idle container: RSS ${(mem.selkie.rss / mem.podman.rss).toFixed(2)}x, PSS ${(mem.selkie.pss / mem.podman.pss).toFixed(2)}x podman (target <= 1)`);
    console.log(`  exec: ${(execPeers[0].s.median / execPeers[1].s.median).toFixed(2)}x podman exec (target <= 0.5)`);
  }
}
// ---- networking: start latency and TCP throughput ------------------------------
// Start latency: `run --rm IMG true` with each engine's default network and
// slirp4netns against `--network none`.  Throughput: a bulk transfer through
// a port published on 127.0.0.1 (host -> container) and to a server on the
// host's loopback (container -> host), for selkie's pasta (default),
// slirp4netns and a user-defined bridge network (both published through
// selkie's port forwarder), and Podman 4's rootless default, slirp4netns with
// rootlessport.  Inside the container busybox nc runs dd on the connection
// (`nc -e`), not `dd | nc`: busybox nc relays in small chunks (~250 MB/s on
// this host's loopback), which would cap every peer alike.
if (!process.env.BENCH_NO_NET) {
  // Transfers through slirp4netns vary by 3x from one to the next (both
  // engines alike): a median needs more than a handful.  With 9 the ratio of
  // two medians of the same slirp4netns moved by +-15% from run to run.
  const NET_RUNS = Number(process.env.BENCH_NET_RUNS ?? 15);
  // Each peer's warm-up transfers find the size that lasts about
  // BENCH_NET_SECONDS (between 16 MiB and BENCH_NET_MAX_MIB); all peers then
  // move the largest of those sizes.
  const SECONDS = Number(process.env.BENCH_NET_SECONDS ?? 1);
  const MAX = Number(process.env.BENCH_NET_MAX_MIB ?? 1024) * 2 ** 20;
  const MIN = 16 << 20;
  const sizeFor = (bytesPerSec) => Math.max(MIN, Math.min(MAX, Math.floor((bytesPerSec * SECONDS) / 2 ** 20) * 2 ** 20));
  /** Warm-up transfers (`once(bytes)` returns seconds) until one lasts 0.3 s; returns the size to measure with. */
  const calibrate = async (once) => {
    let size = MIN;
    for (let i = 0; i < 3; i++) {
      const sec = await once(size);
      if (sec >= 0.3 || size === MAX) return sizeFor(size / sec);
      size = sizeFor(size / sec);
    }
    return size;
  };
  const NET = 'benchnet';
  const names = { pasta: 'bench-net-pasta', slirp: 'bench-net-slirp', slirpAgain: 'bench-net-slirp2', bridge: 'bench-net-bridge', podman: 'bench-net-podman' };
  // The bridge network's rootless netns is made by its first container:
  // with --map-gw its pasta lets the containers reach the host's loopback.
  const bridgeConf = join(work, 'containers-map-gw.conf');
  writeFileSync(bridgeConf, '[network]\npasta_options = ["--map-gw"]\n');
  const bridgeEnv = { ...process.env, CONTAINERS_CONF: bridgeConf };
  const hostGateway = (() => {
    // /proc/net/route: a default route has destination 00000000; the gateway is little-endian hex.
    for (const line of readFileSync('/proc/net/route', 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[1] === '00000000' && f[2] && f[2] !== '00000000') return Buffer.from(f[2], 'hex').reverse().join('.');
    }
    return null;
  })();

  const cleanup = () => {
    for (const n of [names.pasta, names.slirp, names.slirpAgain]) spawnSync(selkie, ['rm', '-f', n], { stdio: 'ignore' });
    spawnSync(selkie, ['rm', '-f', names.bridge], { stdio: 'ignore', env: bridgeEnv });
    spawnSync(selkie, ['network', 'rm', NET], { stdio: 'ignore', env: bridgeEnv });
    if (usePodman) spawnSync('podman', ['rm', '-f', names.podman], { stdio: 'ignore' });
  };
  /** A free TCP port on 127.0.0.1 (bound and released). */
  const freePort = () =>
    new Promise((resolve, reject) => {
      const s = net.createServer();
      s.on('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const { port } = s.address();
        s.close(() => resolve(port));
      });
    });
  const withTimeout = (p, ms, what) => {
    let timer;
    return Promise.race([p, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no result in ${ms / 1000} s`)), ms)))]).finally(() => clearTimeout(timer));
  };
  const buf = Buffer.alloc(1 << 20, 0x5a);
  /**
   * Sends `bytes` to 127.0.0.1:port, ends, and waits for the container's
   * "done" (written once dd has read everything) and its close.  Returns the
   * seconds from connect to then, or null when the connection closed without
   * "done" (nothing listening yet behind the published port).
   */
  const sendTo = (port, bytes) =>
    new Promise((resolve, reject) => {
      const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
      let t0;
      let reply = '';
      s.on('error', (err) => (err.code === 'ECONNRESET' || err.code === 'ECONNREFUSED' || err.code === 'EPIPE' ? resolve(null) : reject(err)));
      s.on('data', (d) => (reply += d.toString()));
      s.on('end', () => {
        const sec = Number(process.hrtime.bigint() - t0) / 1e9;
        s.destroy();
        resolve(reply.includes('done') ? sec : null);
      });
      s.on('connect', () => {
        t0 = process.hrtime.bigint();
        let left = bytes;
        const pump = () => {
          while (left > 0) {
            const n = Math.min(left, buf.length);
            left -= n;
            if (!s.write(n === buf.length ? buf : buf.subarray(0, n)) && left > 0) return void s.once('drain', pump);
          }
          s.end();
        };
        pump();
      });
    });

  // The server on the host for container -> host: one connection at a time;
  // seconds from its first byte to the last of the `expected` bytes, then it
  // answers "ok", on which the container exits.  (A container that exits
  // as soon as its data is written loses what the network has not yet
  // delivered: its netns and helpers go with it.)
  let onTransfer = null;
  let expected = 0;
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    let n = 0;
    let t0 = null;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      const sec = t0 === null ? 0 : Number(process.hrtime.bigint() - t0) / 1e9;
      onTransfer?.({ sec, bytes: n });
    };
    s.on('data', (d) => {
      t0 ??= process.hrtime.bigint();
      n += d.length;
      if (n >= expected) {
        finish();
        s.end('ok\n');
      }
    });
    s.on('end', () => {
      finish();
      s.end();
    });
    s.on('error', () => undefined);
  });
  const run = (cmd, args, env) =>
    new Promise((resolve) => {
      const c = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      c.stderr.on('data', (d) => (err += d));
      c.on('close', (code) => resolve({ code, err }));
    });
  /** Runs one client container and returns the seconds the server measured. */
  const receiveFrom = async (p) => {
    const got = new Promise((resolve) => (onTransfer = resolve));
    expected = p.bytes;
    const x = await withTimeout(run(p.cmd, p.args, p.env), 180_000, p.name);
    // Exit 1 with bytes missing: the `read ok` saw the connection end early.
    if (x.code !== 0 && x.code !== 1) throw new Error(`${p.name} failed (${x.code}): ${x.err}`);
    const r = await withTimeout(got, 10_000, `${p.name}: the transfer to the host`);
    onTransfer = null;
    if (x.code !== 0 || r.bytes !== p.bytes) throw new Error(`${p.name}: ${r.bytes} bytes arrived of ${p.bytes}, then the connection closed (exit ${x.code})`);
    return r.sec;
  };

  cleanup();
  try {
    // -- start latency ------------------------------------------------------
    const latPeers = [
      { name: 'selkie run --rm --network none', engine: 'selkie', none: true, cmd: selkie, args: ['run', '--rm', '--network', 'none', IMG, 'true'] },
      { name: 'selkie run --rm (default network: pasta)', engine: 'selkie', cmd: selkie, args: ['run', '--rm', IMG, 'true'] },
      { name: 'selkie run --rm --network slirp4netns', engine: 'selkie', cmd: selkie, args: ['run', '--rm', '--network', 'slirp4netns', IMG, 'true'] },
    ];
    if (usePodman) {
      latPeers.push(
        { name: 'podman run --rm --network none', engine: 'podman', none: true, cmd: 'podman', args: ['run', '--rm', '--network', 'none', IMG, 'true'] },
        { name: 'podman run --rm (default network: slirp4netns)', engine: 'podman', cmd: 'podman', args: ['run', '--rm', IMG, 'true'] },
      );
    }
    timeInterleaved(latPeers);
    console.log(`\nnetwork: start latency of run --rm IMAGE true: ${RUNS} runs each, interleaved (ms)\n`);
    printTimes(latPeers);
    console.log('\nadded start latency of the network (median minus the same engine\'s --network none):');
    for (const p of latPeers.filter((x) => !x.none)) {
      const none = latPeers.find((x) => x.none && x.engine === p.engine).s.median;
      console.log(`  ${p.name}: ${(p.s.median - none) >= 0 ? '+' : ''}${(p.s.median - none).toFixed(1)} ms`);
    }

    // -- host -> container ------------------------------------------------------
    // One server container per peer; `nc -ll` serves each connection with a
    // new dd, so a connection that finds it listening is harmless.
    const serve = ['nc', '-ll', '-p', '5001', '-e', 'sh', '-c', 'dd of=/dev/null bs=64k 2>/dev/null; echo done'];
    sh(selkie, ['network', 'create', NET], { env: bridgeEnv });
    const tp = [
      { key: 'pasta', name: 'selkie pasta (default)' },
      { key: 'slirp', name: 'selkie slirp4netns (port forwarder)' },
      { key: 'bridge', name: `selkie bridge network (port forwarder)` },
      // The same peer twice: how far two medians of one data path land apart
      // in a run (selkie and Podman run the same slirp4netns binary).
      { key: 'slirpAgain', name: 'selkie slirp4netns again (A/A)' },
    ];
    if (usePodman) tp.push({ key: 'podman', name: 'podman slirp4netns (rootlessport)' });
    for (const p of tp) {
      p.port = await freePort();
      p.in = [];
      p.out = [];
      const publish = ['-p', `127.0.0.1:${p.port}:5001`];
      if (p.key === 'pasta') sh(selkie, ['run', '-d', '--name', names.pasta, ...publish, IMG, ...serve]);
      if (p.key === 'slirp' || p.key === 'slirpAgain') sh(selkie, ['run', '-d', '--name', names[p.key], '--network', 'slirp4netns', ...publish, IMG, ...serve]);
      if (p.key === 'bridge') sh(selkie, ['run', '-d', '--name', names.bridge, '--network', NET, ...publish, IMG, ...serve], { env: bridgeEnv });
      if (p.key === 'podman') sh('podman', ['run', '-d', '--name', names.podman, ...publish, IMG, ...serve]);
    }
    for (const p of tp) {
      // Wait until the container listens behind the published port, then warm up.
      const deadline = Date.now() + 20_000;
      while ((await withTimeout(sendTo(p.port, 0), 10_000, p.name)) === null) {
        if (Date.now() > deadline) throw new Error(`${p.name}: nothing listens behind 127.0.0.1:${p.port}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      p.inBytes = await calibrate(async (bytes) => {
        const sec = await withTimeout(sendTo(p.port, bytes), 120_000, p.name);
        if (sec === null) throw new Error(`${p.name}: warm-up transfer to the container failed`);
        return sec;
      });
    }
    // One size for every peer (the largest calibrated): a longer transfer
    // amortises connection set-up and slow start, which would favour the peer
    // that happened to calibrate larger.
    const inBytes = Math.max(...tp.map((p) => p.inBytes));
    for (const p of tp) p.inBytes = inBytes;
    for (let i = 0; i < NET_RUNS; i++) {
      for (const p of tp) {
        const sec = await withTimeout(sendTo(p.port, p.inBytes), 120_000, p.name);
        if (sec === null) throw new Error(`${p.name}: transfer to the container failed`);
        p.in.push(p.inBytes / 1e6 / sec);
      }
    }
    cleanup();
    sh(selkie, ['network', 'create', NET], { env: bridgeEnv });

    // -- container -> host ------------------------------------------------------
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const port = server.address().port;
    // nc runs sh on the connection: dd writes, then it waits for the "ok".
    const send = (gw) => `nc ${gw} ${port} -e sh -c 'dd if=/dev/zero bs=64k count=COUNT 2>/dev/null; read ok'`;
    for (const p of tp) {
      if (p.key === 'pasta') {
        p.cmd = selkie;
        p.args = ['run', '--rm', '--network', 'pasta:--map-gw', IMG, 'sh', '-c', `gw=$(ip route | awk '/default/ {print $3}'); ${send('$gw')}`];
      }
      if (p.key === 'slirp' || p.key === 'slirpAgain') {
        p.cmd = selkie;
        p.args = ['run', '--rm', '--network', 'slirp4netns:allow_host_loopback=true', IMG, 'sh', '-c', send('10.0.2.2')];
      }
      if (p.key === 'bridge' && hostGateway) {
        // The rootless netns's pasta (--map-gw) maps the host's gateway address to its loopback.
        p.cmd = selkie;
        p.env = bridgeEnv;
        p.args = ['run', '--rm', '--network', NET, IMG, 'sh', '-c', send(hostGateway)];
      }
      if (p.key === 'podman') {
        p.cmd = 'podman';
        p.args = ['run', '--rm', '--network', 'slirp4netns:allow_host_loopback=true', IMG, 'sh', '-c', send('10.0.2.2')];
      }
    }
    const outPeers = tp.filter((p) => p.cmd);
    const receive = (p, bytes) => receiveFrom({ ...p, bytes, args: p.args.map((a) => a.replace('COUNT', String(bytes / 65536))) });
    // A failed transfer (this pasta, 2023-03-09, sometimes closes both sides
    // of a connection to the host mid-transfer) drops that peer, reported.
    const attempt = async (p, f) => {
      if (p.outError) return;
      try {
        await f();
      } catch (err) {
        onTransfer = null;
        p.outError = err.message.trim();
        p.out = [];
      }
    };
    for (const p of outPeers) await attempt(p, async () => (p.outBytes = await calibrate((bytes) => receive(p, bytes))));
    const outBytes = Math.max(...outPeers.filter((p) => !p.outError).map((p) => p.outBytes));
    for (const p of outPeers) if (!p.outError) p.outBytes = outBytes;
    for (let i = 0; i < NET_RUNS; i++) {
      for (const p of outPeers) await attempt(p, async () => p.out.push(p.outBytes / 1e6 / (await receive(p, p.outBytes))));
    }

    // -- report -----------------------------------------------------------------
    console.log(`\nnetwork: TCP throughput, ${NET_RUNS} transfers each, interleaved, one size per direction, ~${SECONDS} s for the fastest peer (MB/s; MiB per transfer)\n`);
    console.log(`${'peer'.padEnd(40)} ${'host->container'.padEnd(31)} ${'container->host'.padEnd(31)}`);
    const head = `${'median'.padStart(7)} ${'min'.padStart(7)} ${'max'.padStart(7)} ${'MiB'.padStart(7)}`;
    console.log(`${''.padEnd(40)} ${head} ${head}`);
    const cells = (xs, bytes) => (xs.length ? ((s) => `${fmt(s.median)} ${fmt(s.min)} ${fmt(s.max)} ${String(bytes / 2 ** 20).padStart(7)}`)(stats(xs)) : ['-', '-', '-', '-'].map((x) => x.padStart(7)).join(' '));
    for (const p of tp) console.log(`${p.name.padEnd(40)} ${cells(p.in, p.inBytes)} ${cells(p.out, p.outBytes)}`);
    if (!tp.find((p) => p.key === 'bridge').cmd) console.log('(bridge, container -> host: left out, the host has no default gateway for --map-gw to map)');
    for (const p of tp.filter((x) => x.outError)) console.log(`(${p.name}, container -> host: failed, left out: ${p.outError})`);
    const pod = tp.find((p) => p.key === 'podman');
    if (pod) {
      const ratio = (p, dir) => (p[dir].length && pod[dir].length ? `${(stats(p[dir]).median / stats(pod[dir]).median).toFixed(2)}x` : '-');
      console.log('\nratios of medians (host->container, container->host):');
      for (const p of tp.filter((x) => x !== pod)) {
        const target = p.key === 'slirp' ? ' (target >= 1: same backend)' : '';
        console.log(`  ${p.name}: ${ratio(p, 'in')}, ${ratio(p, 'out')} podman slirp4netns${target}`);
      }
    }
    // What the containers' TCP runs with (src/network/congestion.ts): part of why container->host differs.
    const cc = readFileSync('/proc/sys/net/ipv4/tcp_congestion_control', 'utf8').trim();
    if (cc.startsWith('bbr')) console.log(`  (the host's default congestion control is ${cc}: selkie's containers use Reno, Podman's keep ${cc})`);
    const [a, b] = ['slirp', 'slirpAgain'].map((k) => tp.find((p) => p.key === k));
    const aa = (dir) => (a[dir].length && b[dir].length ? `${(stats(b[dir]).median / stats(a[dir]).median).toFixed(2)}x` : '-');
    console.log(`  A/A, selkie slirp4netns again / selkie slirp4netns: ${aa('in')}, ${aa('out')} (one data path twice: the run's noise)`);
  } finally {
    onTransfer = null;
    server.close();
    cleanup();
  }
}
sh(selkie, ['rmi', '-f', IMG, IMG_OWNERS]);

// ---- pull --------------------------------------------------------------------
// A 5-layer image of ~100 MB (incompressible) in a registry on 127.0.0.1,
// pulled into a cold store each time by selkie, Podman and skopeo.
if (!process.env.BENCH_NO_PULL) {
  const PULLS = Number(process.env.BENCH_PULLS ?? 3);
  const reg = await startRegistry(join(work, 'registry'));
  const conf = writeRegistriesConf(work, `[[registry]]\nlocation = "${reg.host}"\ninsecure = true\n`);
  const env = { ...process.env, CONTAINERS_REGISTRIES_CONF: conf };
  const ref = `${reg.host}/bench/big:1`;
  // Written by a child process: this one spawns every timed command, and a
  // fork copies its page tables (holding the 96 MB of layers here added
  // ~12 ms to each re-pull measured below).
  const writer = `
    import { randomBytes } from 'node:crypto';
    import { busyboxEntries, writeDockerArchive } from ${JSON.stringify(join(root, 'scripts/fixtures.mjs'))};
    const layers = [busyboxEntries(), ...Array.from({ length: 4 }, (_, i) => [{ name: 'blob' + i + '.bin', type: 'file', mode: 0o644, content: randomBytes(24 << 20) }])];
    await writeDockerArchive(process.argv[1], { repoTag: 'localhost/big:1', layers });
  `;
  sh(process.execPath, ['--input-type=module', '-e', writer, join(work, 'big.tar')]);
  sh('skopeo', ['--insecure-policy', 'copy', '-q', '--dest-tls-verify=false', '--dest-compress', `docker-archive:${join(work, 'big.tar')}`, `docker://${ref}`]);
  rmSync(join(work, 'big.tar'));

  const cold = (name) => join(work, `cold-${name}`);
  const pullPeers = [
    { name: 'selkie pull (cold store)', run: () => ['selkie', [selkie, '--root', cold('s'), 'pull', '-q', ref]], clean: () => spawnSync(selkie, ['--root', cold('s'), 'rmi', '-a', '-f']) },
    { name: 'skopeo copy docker:// -> oci: (cold)', run: () => ['skopeo', ['skopeo', '--insecure-policy', 'copy', '-q', '--src-tls-verify=false', `docker://${ref}`, `oci:${cold('k')}:x`]], clean: () => rmSync(cold('k'), { recursive: true, force: true }) },
  ];
  if (have('podman') && !process.env.BENCH_NO_PODMAN) {
    pullPeers.push({
      name: 'podman pull (cold store)',
      run: () => ['podman', ['podman', '--root', cold('p'), '--runroot', cold('pr'), '--storage-driver', 'overlay', 'pull', '-q', '--tls-verify=false', ref]],
      clean: () => spawnSync('podman', ['unshare', 'rm', '-rf', cold('p'), cold('pr')]),
    });
  }
  for (const p of pullPeers) p.times = [];
  for (let i = 0; i < PULLS; i++) {
    for (const p of pullPeers) {
      p.clean();
      const [, [cmd, ...args]] = p.run();
      const t0 = process.hrtime.bigint();
      const r = spawnSync(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
      p.times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (r.status !== 0) throw new Error(`${p.name} failed: ${r.stderr}`);
    }
  }
  // Re-pull: every layer present.  Compared with one manifest round trip.
  // Timed from a small child process, as from a shell: each fork of this
  // process copies its page tables, whatever it has grown to through the
  // sections before (a parent holding 192 MB added ~12 ms to each spawn).
  const timer = `
    import { spawnSync } from 'node:child_process';
    const [selkie, root, ref, url, peer] = process.argv.slice(1);
    // Podman's re-pull of the image its last cold pull left, for scale ([] without Podman).
    const podman = JSON.parse(peer);
    const trip = async () => {
      const t0 = process.hrtime.bigint();
      await fetch(url, { headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' } }).then((x) => x.arrayBuffer());
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    await trip(); // loads fetch
    // Node's own start beside it: the target is in milliseconds, and how fast
    // this machine starts a process varies by a third from hour to hour.
    // (Without NODE_EXTRA_CA_CERTS, which bin/selkie sets aside too.)
    const nodeEnv = { ...process.env };
    delete nodeEnv.NODE_EXTRA_CA_CERTS;
    const out = { repull: [], trip: [], node: [], podman: [] };
    // 20: the median of 10 moved by several ms between runs minutes apart.
    for (let i = 0; i < 20; i++) {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(selkie, ['--root', root, 'pull', '-q', ref], { stdio: ['ignore', 'ignore', 'pipe'] });
      out.repull.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (r.status !== 0) throw new Error('re-pull failed: ' + r.stderr);
      out.trip.push(await trip());
      const t1 = process.hrtime.bigint();
      spawnSync(process.execPath, ['-e', '0'], { stdio: 'ignore', env: nodeEnv });
      out.node.push(Number(process.hrtime.bigint() - t1) / 1e6);
      if (podman.length) {
        const t2 = process.hrtime.bigint();
        const p = spawnSync(podman[0], podman.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
        out.podman.push(Number(process.hrtime.bigint() - t2) / 1e6);
        if (p.status !== 0) throw new Error('podman re-pull failed: ' + p.stderr);
      }
    }
    process.stdout.write(JSON.stringify(out));
  `;
  const podmanPeer = pullPeers.find((p) => p.name.startsWith('podman'));
  const podmanRepull = podmanPeer ? podmanPeer.run()[1] : [];
  const timed = JSON.parse(sh(process.execPath, ['--input-type=module', '-e', timer, selkie, cold('s'), ref, `http://${reg.host}/v2/bench/big/manifests/1`, JSON.stringify(podmanRepull)], { env }));
  const repull = timed.repull;
  const manifestTrip = timed.trip;
  const nodeStart = stats(timed.node);
  console.log(`\npull of a 5-layer ~100 MB image from a registry on 127.0.0.1: ${PULLS} runs each, interleaved (ms)\n`);
  console.log(`${'peer'.padEnd(58)} ${'median'.padStart(7)} ${'min'.padStart(7)} ${'max'.padStart(7)}`);
  for (const p of pullPeers) {
    p.s = stats(p.times);
    console.log(`${p.name.padEnd(58)} ${fmt(p.s.median)} ${fmt(p.s.min)} ${fmt(p.s.max)}`);
  }
  const rp = stats(repull);
  const mt = stats(manifestTrip);
  console.log(`${'selkie re-pull (all layers present)'.padEnd(58)} ${fmt(rp.median)} ${fmt(rp.min)} ${fmt(rp.max)}`);
  console.log(`${'one manifest round trip (fetch)'.padEnd(58)} ${fmt(mt.median)} ${fmt(mt.min)} ${fmt(mt.max)}`);
  console.log(`${'node -e 0, for scale (interleaved with the re-pulls)'.padEnd(58)} ${fmt(nodeStart.median)} ${fmt(nodeStart.min)} ${fmt(nodeStart.max)}`);
  const podmanRe = timed.podman.length ? stats(timed.podman) : undefined;
  if (podmanRe) console.log(`${'podman re-pull (all layers present)'.padEnd(58)} ${fmt(podmanRe.median)} ${fmt(podmanRe.min)} ${fmt(podmanRe.max)}`);
  console.log('\nratios of medians:');
  if (podmanPeer) console.log(`  selkie pull: ${(pullPeers[0].s.median / podmanPeer.s.median).toFixed(2)}x podman pull (target <= 1)`);
  console.log(`  selkie pull: ${(pullPeers[0].s.median / pullPeers[1].s.median).toFixed(2)}x skopeo copy`);
  console.log(`  re-pull minus one manifest round trip: ${(rp.median - mt.median).toFixed(1)} ms (target < 100)`);
  if (podmanRe) console.log(`  selkie re-pull: ${(rp.median / podmanRe.median).toFixed(2)}x podman re-pull`);
  spawnSync(selkie, ['--root', cold('s'), 'rmi', '-a', '-f']);
  for (const p of pullPeers) p.clean();
  await reg.stop();
}
rmSync(work, { recursive: true, force: true });
