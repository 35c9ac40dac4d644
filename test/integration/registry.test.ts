// Pull and push against a real registry on 127.0.0.1 (Debian's
// docker-registry), interoperability with skopeo, short names, mirrors,
// blocked registries, multi-platform indexes, login, and save/load.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxEntries, tarOf, writeDockerArchive } from '../../scripts/fixtures.mjs';
import { ensureBusybox, graphRoot, ok, selkie, selkieAsync, tempDir } from './helpers';
import { startRecordingProxy, startRegistry, writeRegistriesConf, type Registry } from './registry-fixture';

let dir: string;
let reg: Registry;
let IMG: string;
let env: Record<string, string>;

beforeAll(async () => {
  dir = tempDir('selkie-reg-');
  reg = await startRegistry(join(dir, 'plain'));
  IMG = await ensureBusybox();
  env = {
    CONTAINERS_REGISTRIES_CONF: writeRegistriesConf(dir, `[[registry]]\nlocation = "${reg.host}"\ninsecure = true\n`),
    REGISTRY_AUTH_FILE: join(dir, 'auth.json'),
    XDG_CACHE_HOME: join(dir, 'cache'),
  };
});

afterAll(async () => {
  await reg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function skopeo(args: string[]): string {
  return execFileSync('skopeo', ['--insecure-policy', ...args], { encoding: 'utf8' });
}

describe('push and pull', () => {
  it('round-trips an image through the registry with identical digests', () => {
    const name = `${reg.host}/team/app:2`;
    ok(['tag', IMG, name], { env });
    const digestFile = join(dir, 'digest');
    ok(['push', '--digestfile', digestFile, name], { env });
    const pushed = readFileSync(digestFile, 'utf8').trim();
    expect(pushed).toMatch(/^sha256:[0-9a-f]{64}$/);
    const local = JSON.parse(ok(['image', 'inspect', name], { env }))[0];
    expect(local.Digest).toBe(pushed);
    // the registry serves exactly those bytes
    expect(JSON.parse(skopeo(['inspect', '--tls-verify=false', `docker://${name}`])).Digest).toBe(pushed);
    // pulled back under another name: same image, same digest
    ok(['rmi', name], { env });
    const id = ok(['pull', name], { env }).trim();
    expect(id).toBe(local.Id);
    expect(JSON.parse(ok(['image', 'inspect', name], { env }))[0].Digest).toBe(pushed);
    expect(ok(['run', '--rm', name, 'echo', 'pulled'], { env })).toBe('pulled\n');
    // by digest too
    ok(['pull', `${reg.host}/team/app@${pushed}`], { env });
    expect(ok(['images', '--digests', '--format', '{{.Digest}}'], { env })).toContain(pushed);
  });

  it('pulls what skopeo pushed, and skopeo pulls what selkie pushed', async () => {
    const archive = join(dir, 'sk.tar');
    await writeDockerArchive(archive, { repoTag: 'localhost/skopeo-src:1' });
    skopeo(['copy', '--dest-tls-verify=false', `docker-archive:${archive}`, `docker://${reg.host}/from/skopeo:1`]);
    ok(['pull', `${reg.host}/from/skopeo:1`], { env });
    expect(ok(['run', '--rm', `${reg.host}/from/skopeo:1`, 'cat', '/var/www/owned33'], { env })).toBe('www\n');

    ok(['tag', IMG, `${reg.host}/from/selkie:1`], { env });
    ok(['push', `${reg.host}/from/selkie:1`], { env });
    const out = join(dir, 'sk-oci');
    skopeo(['copy', '--src-tls-verify=false', `docker://${reg.host}/from/selkie:1`, `oci:${out}:x`]);
    expect(existsSync(join(out, 'index.json'))).toBe(true);
  });

  it('re-pulls an image whose layers are all present without fetching them', () => {
    const name = `${reg.host}/team/app:2`;
    const blobsBefore = readdirSync(join(graphRoot(), 'blobs', 'sha256')).length;
    const id = ok(['pull', name], { env }).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(readdirSync(join(graphRoot(), 'blobs', 'sha256')).length).toBe(blobsBefore);
  });

  it('shows progress bars on a terminal, and only the ID otherwise', () => {
    const name = `${reg.host}/team/tty:1`;
    ok(['tag', IMG, name], { env });
    ok(['push', name], { env });
    ok(['rmi', name], { env });
    // script(1) gives the command a real pseudo-terminal
    const tty = spawnSync('script', ['-qec', `${join(__dirname, '..', '..', 'bin', 'selkie')} pull ${name}`, '/dev/null'], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
    });
    expect(tty.status).toBe(0);
    expect(tty.stdout).toMatch(/Trying to pull/);
    expect(tty.stdout).toMatch(/Copying blob [0-9a-f]{12}/);
    ok(['rmi', name], { env });
    const plain = ok(['pull', name], { env });
    expect(plain).toMatch(/^[0-9a-f]{64}\n$/);
  });

  it('asks which registry a short name means on a terminal in enforcing mode, and remembers the answer', () => {
    const conf = writeRegistriesConf(dir, `unqualified-search-registries = ["registry.invalid", "${reg.host}"]\nshort-name-mode = "enforcing"\n[[registry]]\nlocation = "${reg.host}"\ninsecure = true\n`);
    const e = { ...process.env, ...env, CONTAINERS_REGISTRIES_CONF: conf, XDG_CACHE_HOME: join(dir, 'prompt-cache') };
    const r = spawnSync('script', ['-qec', `${join(__dirname, '..', '..', 'bin', 'selkie')} pull team/tty:1`, '/dev/null'], { encoding: 'utf8', env: e, input: '2\n' });
    expect(r.stdout).toMatch(/Please select an image/);
    expect(r.status).toBe(0);
    expect(readFileSync(join(dir, 'prompt-cache', 'containers', 'short-name-aliases.conf'), 'utf8')).toContain(`${reg.host}/team/tty`);
    // the alias now decides without asking, even without a terminal
    expect(selkie(['pull', 'team/tty:1'], { env: { ...env, CONTAINERS_REGISTRIES_CONF: conf, XDG_CACHE_HOME: join(dir, 'prompt-cache') } }).code).toBe(0);
  });

  it('honours --pull policies of run', () => {
    const name = `${reg.host}/team/policy:1`;
    ok(['tag', IMG, name], { env });
    ok(['push', name], { env });
    ok(['rmi', name], { env });
    const never = selkie(['run', '--rm', '--pull=never', name, 'true'], { env });
    expect(never.code).toBe(125);
    expect(ok(['run', '--rm', '--pull=missing', name, 'echo', 'missing'], { env })).toBe('missing\n');
    expect(ok(['run', '--rm', '--pull=always', name, 'echo', 'always'], { env })).toBe('always\n');
    expect(ok(['run', '--rm', '--pull=newer', name, 'echo', 'newer'], { env })).toBe('newer\n');
    expect(selkie(['run', '--rm', '--pull=sometimes', name, 'true'], { env }).code).toBe(125);
  });
});

describe('short names, mirrors and blocked registries', () => {
  it('resolves a short name through search registries and aliases', () => {
    const conf = writeRegistriesConf(
      dir,
      `unqualified-search-registries = ["${reg.host}"]\nshort-name-mode = "permissive"\n[aliases]\n"myalias" = "${reg.host}/team/app"\n[[registry]]\nlocation = "${reg.host}"\ninsecure = true\n`,
    );
    const e = { ...env, CONTAINERS_REGISTRIES_CONF: conf };
    ok(['rmi', '-f', `${reg.host}/team/app:2`], { env: e });
    expect(ok(['pull', 'team/app:2'], { env: e }).trim()).toMatch(/^[0-9a-f]{64}$/);
    ok(['rmi', `${reg.host}/team/app:2`], { env: e });
    ok(['pull', 'myalias:2'], { env: e });
    expect(selkie(['image', 'exists', `${reg.host}/team/app:2`], { env: e }).code).toBe(0);
  });

  it('fails clearly without a TTY when short-name mode is enforcing and several registries could match', () => {
    const conf = writeRegistriesConf(dir, `unqualified-search-registries = ["${reg.host}", "registry.invalid"]\nshort-name-mode = "enforcing"\n`);
    const r = selkie(['pull', 'team/app:2'], { env: { ...env, CONTAINERS_REGISTRIES_CONF: conf } });
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/short-name resolution enforced but cannot prompt without a TTY/);
  });

  it('pulls through a mirror, and refuses a blocked registry', () => {
    const conf = writeRegistriesConf(
      dir,
      `[[registry]]\nprefix = "mirrored.invalid/team"\nlocation = "mirrored.invalid/team"\n[[registry.mirror]]\nlocation = "${reg.host}/team"\ninsecure = true\n` +
        `[[registry]]\nlocation = "blocked.invalid"\nblocked = true\n`,
    );
    const e = { ...env, CONTAINERS_REGISTRIES_CONF: conf };
    expect(ok(['pull', 'mirrored.invalid/team/app:2'], { env: e }).trim()).toMatch(/^[0-9a-f]{64}$/);
    expect(selkie(['image', 'exists', 'mirrored.invalid/team/app:2'], { env: e }).code).toBe(0);
    const blocked = selkie(['pull', 'blocked.invalid/x:1'], { env: e });
    expect(blocked.code).toBe(125);
    expect(blocked.stderr).toMatch(/blocked/);
  });
});

describe('multi-platform images', () => {
  /** Pushes an OCI index with amd64 and arm64 images straight through the registry API; returns the digests. */
  async function pushIndex(repo: string, tag = 'multi'): Promise<{ index: string; manifests: Record<string, string> }> {
    const base = `http://${reg.host}/v2/${repo}`;
    const upload = async (bytes: Buffer) => {
      const digest = sha256(bytes);
      const start = await fetch(`${base}/blobs/uploads/`, { method: 'POST' });
      const loc = new URL(start.headers.get('location')!, base);
      loc.searchParams.set('digest', digest);
      const put = await fetch(loc, { method: 'PUT', body: new Uint8Array(bytes), headers: { 'content-type': 'application/octet-stream' } });
      if (put.status !== 201) throw new Error(`upload failed: ${put.status}`);
      return { digest, size: bytes.length };
    };
    const layer = gzipSync(await tarOf(busyboxEntries()));
    const diffID = sha256(gunzip(layer));
    const l = await upload(layer);
    const manifests = [];
    for (const architecture of ['amd64', 'arm64']) {
      const config = Buffer.from(JSON.stringify({ architecture, os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [diffID] } }));
      const c = await upload(config);
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...c },
          layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...l }],
        }),
      );
      const r = await fetch(`${base}/manifests/${architecture}`, {
        method: 'PUT',
        body: new Uint8Array(manifest),
        headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      });
      if (r.status !== 201) throw new Error(`manifest put failed: ${r.status}`);
      manifests.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(manifest), size: manifest.length, platform: { os: 'linux', architecture } });
    }
    // Annotated with its tag: the same images under another tag make another index.
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests, annotations: { 'org.example.tag': tag } }));
    const r = await fetch(`${base}/manifests/${tag}`, { method: 'PUT', body: new Uint8Array(index), headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' } });
    if (r.status !== 201) throw new Error(`index put failed: ${r.status}`);
    return { index: sha256(index), manifests: Object.fromEntries(manifests.map((m) => [m.platform.architecture, m.digest])) };
  }
  function gunzip(b: Buffer): Buffer {
    return require('node:zlib').gunzipSync(b);
  }

  it('pulls an image with zstd-compressed layers', async () => {
    const base = `http://${reg.host}/v2/zstd/app`;
    const upload = async (bytes: Buffer) => {
      const digest = sha256(bytes);
      const start = await fetch(`${base}/blobs/uploads/`, { method: 'POST' });
      const loc = new URL(start.headers.get('location')!, base);
      loc.searchParams.set('digest', digest);
      await fetch(loc, { method: 'PUT', body: new Uint8Array(bytes), headers: { 'content-type': 'application/octet-stream' } });
      return { digest, size: bytes.length };
    };
    const tar = await tarOf(busyboxEntries([{ name: 'zstd.txt', type: 'file', mode: 0o644, content: Buffer.from('zstd!') }]));
    const layer = execFileSync('zstd', ['-q', '-c'], { input: tar, maxBuffer: 64 << 20 });
    const l = await upload(layer);
    const c = await upload(Buffer.from(JSON.stringify({ architecture: process.arch === 'arm64' ? 'arm64' : 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(tar)] } })));
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...c },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', ...l }],
    });
    await fetch(`${base}/manifests/1`, { method: 'PUT', body: manifest, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
    ok(['pull', `${reg.host}/zstd/app:1`], { env });
    expect(ok(['run', '--rm', `${reg.host}/zstd/app:1`, 'cat', '/zstd.txt'], { env })).toBe('zstd!');
  });

  it("picks the host's platform, another with --platform, and says which exist when none matches", async () => {
    await pushIndex('multi/app');
    const ref = `${reg.host}/multi/app:multi`;
    ok(['pull', ref], { env });
    const host = process.arch === 'arm64' ? 'arm64' : 'amd64';
    expect(ok(['image', 'inspect', '--format', '{{.Architecture}}', ref], { env }).trim()).toBe(host);
    ok(['pull', '--platform', `linux/${host === 'amd64' ? 'arm64' : 'amd64'}`, ref], { env });
    expect(ok(['image', 'inspect', '--format', '{{.Architecture}}', ref], { env }).trim()).toBe(host === 'amd64' ? 'arm64' : 'amd64');
    const none = selkie(['pull', '--platform', 'linux/s390x', ref], { env });
    expect(none.code).toBe(125);
    expect(none.stderr).toMatch(/s390x/);
    expect(none.stderr).toMatch(/linux\/amd64, linux\/arm64/);
    const manifest = JSON.parse(ok(['manifest', 'inspect', ref], { env }));
    expect(manifest.manifests).toHaveLength(2);
  });

  it('re-pulls an unchanged tag with one HEAD of its manifest, through an index too, and pulls again once the tag moves', async () => {
    const proxy = await startRecordingProxy(reg);
    try {
      const penv = { ...env, CONTAINERS_REGISTRIES_CONF: writeRegistriesConf(dir, `[[registry]]\nlocation = "${proxy.host}"\ninsecure = true\n`) };
      // Not spawnSync: the proxy answers from this process.
      const pull = async (args: string[]) => {
        proxy.requests.length = 0;
        const r = await selkieAsync(['pull', '-q', ...args], penv);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        return [...proxy.requests];
      };
      const arch = (ref: string) => ok(['image', 'inspect', '--format', '{{.Architecture}}', ref], { env: penv }).trim();
      const host = process.arch === 'arm64' ? 'arm64' : 'amd64';
      const other = host === 'amd64' ? 'arm64' : 'amd64';

      ok(['push', IMG, `${reg.host}/head/app:1`], { env });
      const single = `${proxy.host}/head/app:1`;
      expect(await pull([single])).toContain('GET /v2/head/app/manifests/1');
      expect(await pull([single])).toEqual(['HEAD /v2/head/app/manifests/1']);

      // An index: the entry for the platform wanted is chosen from the kept copy.
      const pushed = await pushIndex('head/multi');
      const multi = `${proxy.host}/head/multi:multi`;
      await pull([multi]);
      expect(await pull([multi])).toEqual(['HEAD /v2/head/multi/manifests/multi']);
      const repoDigests = JSON.parse(ok(['image', 'inspect', '--format', '{{json .RepoDigests}}', multi], { env: penv })) as string[];
      expect(repoDigests.filter((d) => d.startsWith(proxy.host))).toEqual([
        `${proxy.host}/head/multi@${pushed.manifests[host]}`,
        `${proxy.host}/head/multi@${pushed.index}`,
      ]);
      // Either digest names the image here.
      for (const d of [pushed.index, pushed.manifests[host]]) {
        expect(ok(['image', 'inspect', '--format', '{{.Architecture}}', `${proxy.host}/head/multi@${d}`], { env: penv }).trim()).toBe(host);
      }
      selkie(['rmi', '-f', `${proxy.host}/head/multi@${pushed.manifests[other]}`], { env: penv }); // left by the test before, if it ran
      expect(await pull(['--platform', `linux/${other}`, multi])).toContain(`GET /v2/head/multi/manifests/${pushed.manifests[other]}`);
      expect(arch(multi)).toBe(other);
      expect(await pull([multi])).toEqual(['HEAD /v2/head/multi/manifests/multi']);
      expect(arch(multi)).toBe(host);

      // The tag moves (to an index of the same images): fetched again.
      const moved = await pushIndex('head/app', '1');
      expect(await pull([single])).toEqual([
        'HEAD /v2/head/app/manifests/1',
        'GET /v2/head/app/manifests/1',
        `GET /v2/head/app/manifests/${pushed.manifests[host]}`,
      ]);
      const hostId = ok(['image', 'inspect', '--format', '{{.Id}}', multi], { env: penv }).trim();
      expect(ok(['image', 'inspect', '--format', '{{.Id}}', single], { env: penv }).trim()).toBe(hostId);
      expect(await pull([single])).toEqual(['HEAD /v2/head/app/manifests/1']);

      // A kept index goes with the last image that came through it.
      const blobs = [pushed.index, moved.index].map((d) => join(graphRoot(), 'blobs', 'sha256', d.slice(7)));
      expect(blobs.map((b) => existsSync(b))).toEqual([true, true]);
      ok(['rmi', '-f', hostId, `${proxy.host}/head/multi@${pushed.manifests[other]}`], { env: penv });
      expect(blobs.map((b) => existsSync(b))).toEqual([false, false]);
    } finally {
      await proxy.stop();
    }
  });
});

describe('authentication', () => {
  let authReg: Registry;
  beforeAll(async () => {
    authReg = await startRegistry(join(dir, 'auth'), { htpasswd: { user: 'me', password: 's3cret-pw' } });
  });
  afterAll(async () => {
    await authReg?.stop();
  });

  it('logs in with --password-stdin, pushes and pulls with the stored credentials, logs out', () => {
    const e: Record<string, string> = {
      ...env,
      CONTAINERS_REGISTRIES_CONF: writeRegistriesConf(dir, `[[registry]]\nlocation = "${authReg.host}"\ninsecure = true\n[[registry]]\nlocation = "${reg.host}"\ninsecure = true\n`),
    };
    const name = `${authReg.host}/private/app:1`;
    ok(['tag', IMG, name], { env: e });
    const denied = selkie(['push', name], { env: e });
    expect(denied.code).toBe(125);
    expect(denied.stderr).toMatch(/authentication required|unauthorized/i);

    const bad = selkie(['login', authReg.host, '-u', 'me', '--password-stdin'], { env: e, input: 'wrong-pw\n' });
    expect(bad.code).toBe(125);
    expect(bad.stderr).not.toContain('wrong-pw');
    expect(existsSync(e.REGISTRY_AUTH_FILE) ? readFileSync(e.REGISTRY_AUTH_FILE, 'utf8') : '').not.toContain(authReg.host);

    const good = selkie(['login', authReg.host, '-u', 'me', '--password-stdin'], { env: e, input: 's3cret-pw\n' });
    expect(good.stdout).toBe('Login Succeeded!\n');
    expect(good.code).toBe(0);
    expect(JSON.parse(readFileSync(e.REGISTRY_AUTH_FILE, 'utf8')).auths[authReg.host].auth).toBe(Buffer.from('me:s3cret-pw').toString('base64'));
    ok(['push', name], { env: e });
    ok(['rmi', name], { env: e });
    ok(['pull', name], { env: e });
    expect(ok(['logout', authReg.host], { env: e })).toBe(`Removed login credentials for ${authReg.host}\n`);
    ok(['rmi', name], { env: e });
    const after = selkie(['pull', name], { env: e });
    expect(after.code).toBe(125);
    expect(after.stderr).not.toContain('s3cret-pw');
    // --creds works without a stored login
    ok(['pull', '--creds', 'me:s3cret-pw', name], { env: e });
    ok(['rmi', name], { env: e });
  });
});

describe('save and load', () => {
  it('round-trips docker-archive, oci-archive and oci-dir, keeping the image ID', () => {
    const id = JSON.parse(ok(['image', 'inspect', IMG]))[0].Id;
    for (const [format, out] of [
      ['docker-archive', join(dir, 'save-docker.tar')],
      ['oci-archive', join(dir, 'save-oci.tar')],
    ]) {
      ok(['save', '--format', format, '-o', out, IMG]);
      ok(['tag', IMG, 'localhost/keep-alive:1']);
      ok(['rmi', IMG]);
      expect(ok(['load', '-i', out])).toContain(`Loaded image: ${IMG}`);
      expect(JSON.parse(ok(['image', 'inspect', IMG]))[0].Id).toBe(id);
      ok(['rmi', 'localhost/keep-alive:1']);
    }
    const ociDir = join(dir, 'save-oci-dir');
    ok(['save', '--format', 'oci-dir', '-o', ociDir, IMG]);
    expect(JSON.parse(skopeo(['inspect', `oci:${ociDir}:${IMG}`])).Architecture).toBeDefined();
    // skopeo reads our docker-archive too
    expect(JSON.parse(skopeo(['inspect', `docker-archive:${join(dir, 'save-docker.tar')}`])).Layers).toHaveLength(1);
  });

  it('saves several images into one archive with -m, and loads them all back', async () => {
    const other = join(dir, 'other.tar');
    await writeDockerArchive(other, { repoTag: 'localhost/second:1', layers: [busyboxEntries(), [{ name: 'second.txt', type: 'file', mode: 0o644, content: Buffer.from('2') }]] });
    ok(['load', '-i', other]);
    const both = join(dir, 'both.tar');
    ok(['save', '-m', '-o', both, IMG, 'localhost/second:1']);
    ok(['tag', IMG, 'localhost/keep-alive:2']);
    ok(['rmi', IMG, 'localhost/second:1']);
    const loaded = ok(['load', '-i', both]);
    expect(loaded).toContain(`Loaded image: ${IMG}`);
    expect(loaded).toContain('Loaded image: localhost/second:1');
    expect(ok(['run', '--rm', 'localhost/second:1', 'cat', '/second.txt'])).toBe('2');
    ok(['rmi', 'localhost/keep-alive:2']);
  });

  it('shows history and prunes dangling images', () => {
    const hist = ok(['image', 'history', IMG]).split('\n');
    expect(hist[0]).toMatch(/^ID\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT/);
    expect(hist[1]).toMatch(/selkie (test fixture|import)/);
    ok(['tag', IMG, 'localhost/dangling:1']);
    ok(['rmi', 'localhost/second:1']);
    // an image without a name goes with prune; one with a name stays
    const id = JSON.parse(ok(['image', 'inspect', IMG]))[0].Id;
    ok(['image', 'prune', '-f']);
    expect(JSON.parse(ok(['image', 'inspect', IMG]))[0].Id).toBe(id);
    ok(['rmi', 'localhost/dangling:1']);
  });

  it('pushes to and pulls from the other transports', () => {
    const layout = join(dir, 'layout');
    ok(['push', IMG, `oci:${layout}:v1`]);
    ok(['pull', `oci:${layout}:v1`]);
    expect(selkie(['image', 'exists', 'localhost/layout:v1']).code).toBe(0);
    expect(ok(['run', '--rm', `oci:${layout}:v1`, 'echo', 'from-layout'])).toBe('from-layout\n');
    ok(['push', IMG, `dir:${join(dir, 'dirt')}`]);
    expect(existsSync(join(dir, 'dirt', 'manifest.json'))).toBe(true);
    ok(['push', IMG, `docker-archive:${join(dir, 'p.tar')}:localhost/pushed:1`]);
    ok(['pull', `docker-archive:${join(dir, 'p.tar')}`]);
    expect(selkie(['image', 'exists', 'localhost/pushed:1']).code).toBe(0);
    ok(['rmi', 'localhost/layout:v1', 'localhost/pushed:1']);
  });
});
