// npm run bench: `selkie run --rm IMAGE true` against bare crun on an
// equivalent bundle and against Podman, all in one process, interleaved
// round-robin so that machine noise falls on every peer alike.  Reports
// medians, spread and ratios (never absolute targets: this machine is noisy).
//
// Runs as the calling user; as root it re-runs itself as the test user of
// scripts/setup-host.sh on a copy of this tree (as `npm test` does).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
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
writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
const crunRoot = join(work, 'crun-state');

const peers = [
  { name: 'selkie run --rm (own userns; root-owned image: overlay)', cmd: selkie, args: ['run', '--rm', '--network', 'none', IMG, 'true'] },
  { name: 'selkie run --rm --userns=host (kernel overlay)', cmd: selkie, args: ['run', '--rm', '--network', 'none', '--userns=host', IMG, 'true'] },
  { name: 'selkie run --rm (own userns; several owners: fuse-overlayfs)', cmd: selkie, args: ['run', '--rm', '--network', 'none', IMG_OWNERS, 'true'] },
  { name: 'crun run (bare, prepared bundle)', cmd: 'crun', args: ['--cgroup-manager=disabled', `--root=${crunRoot}`, 'run', `--bundle=${bundle}`, 'bench-crun'] },
];
if (have('podman') && !process.env.BENCH_NO_PODMAN) {
  sh('podman', ['load', '-i', archive], { stdio: 'ignore' });
  peers.push({ name: 'podman run --rm --network none', cmd: 'podman', args: ['run', '--rm', '--network', 'none', IMG, 'true'] });
}

// ---- measure ---------------------------------------------------------------
for (const p of peers) {
  p.times = [];
  for (let i = 0; i < 3; i++) sh(p.cmd, p.args); // warm caches, create sessions
}
for (let i = 0; i < RUNS; i++) {
  for (const p of peers) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(p.cmd, p.args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`${p.name} failed: ${r.stderr}`);
    p.times.push(ms);
  }
}

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (f) => s[Math.min(s.length - 1, Math.floor(f * s.length))];
  return { median: q(0.5), p10: q(0.1), p90: q(0.9), min: s[0], max: s[s.length - 1] };
}
const fmt = (x) => x.toFixed(1).padStart(7);
console.log(`\nselkie run --rm benchmark: ${RUNS} runs each, interleaved (ms)\n`);
console.log(`${'peer'.padEnd(58)} ${'median'.padStart(7)} ${'p10'.padStart(7)} ${'p90'.padStart(7)} ${'min'.padStart(7)} ${'max'.padStart(7)}`);
for (const p of peers) {
  p.s = stats(p.times);
  console.log(`${p.name.padEnd(58)} ${fmt(p.s.median)} ${fmt(p.s.p10)} ${fmt(p.s.p90)} ${fmt(p.s.min)} ${fmt(p.s.max)}`);
}
const crun = peers.find((p) => p.cmd === 'crun').s.median;
const podman = peers.find((p) => p.cmd === 'podman')?.s.median;
console.log('\nratios of medians:');
for (const p of peers.filter((x) => x.cmd === selkie)) {
  const parts = [`${(p.s.median / crun).toFixed(2)}x bare crun (target <= 5)`];
  if (podman) parts.push(`${(p.s.median / podman).toFixed(2)}x podman (target <= 0.33)`);
  console.log(`  ${p.name}: ${parts.join(', ')}`);
}

// ---- detached containers: monitor memory, exec ------------------------------
// Resident memory each idle detached container adds outside itself (its
// monitor and any helper: conmon here, for both engines), and `exec C true`.
if (!process.env.BENCH_NO_DETACHED) {
  const N = 5;
  const usePodman = have('podman') && !process.env.BENCH_NO_PODMAN;
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
  const layers = [busyboxEntries(), ...Array.from({ length: 4 }, (_, i) => [{ name: `blob${i}.bin`, type: 'file', mode: 0o644, content: randomBytes(24 << 20) }])];
  await writeDockerArchive(join(work, 'big.tar'), { repoTag: 'localhost/big:1', layers });
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
  const repull = [];
  const manifestTrip = [];
  for (let i = 0; i < 10; i++) {
    let t0 = process.hrtime.bigint();
    const r = spawnSync(selkie, ['--root', cold('s'), 'pull', '-q', ref], { env });
    repull.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (r.status !== 0) throw new Error(`re-pull failed: ${r.stderr}`);
    t0 = process.hrtime.bigint();
    await fetch(`http://${reg.host}/v2/bench/big/manifests/1`, { headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' } }).then((x) => x.arrayBuffer());
    manifestTrip.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
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
  const podmanPull = pullPeers.find((p) => p.name.startsWith('podman'));
  console.log('\nratios of medians:');
  if (podmanPull) console.log(`  selkie pull: ${(pullPeers[0].s.median / podmanPull.s.median).toFixed(2)}x podman pull (target <= 1)`);
  console.log(`  selkie pull: ${(pullPeers[0].s.median / pullPeers[1].s.median).toFixed(2)}x skopeo copy`);
  console.log(`  re-pull minus one manifest round trip: ${(rp.median - mt.median).toFixed(1)} ms (target < 100)`);
  spawnSync(selkie, ['--root', cold('s'), 'rmi', '-a', '-f']);
  for (const p of pullPeers) p.clean();
  await reg.stop();
}
rmSync(work, { recursive: true, force: true });
