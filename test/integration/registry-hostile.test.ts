// Hostile and broken registry responses, from a proxy of the tests' own in
// front of a real registry: each must end in a clear error with nothing
// stored and every other image intact; and a pull killed halfway leaves no
// half image and completes next time.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxEntries } from '../../scripts/fixtures.mjs';
import { ensureBusybox, graphRoot, loadDockerArchive, ok, SELKIE, selkie, selkieAsync, tempDir, waitFor } from './helpers';
import { freePort, startRegistry, writeRegistriesConf, type Registry } from './registry-fixture';

type Mode = 'pass' | 'schema1' | 'wrong-digest' | 'wrong-size' | 'truncated-gzip' | 'lying-media-type' | 'malformed-json' | 'endless-body' | 'stall-blob';

let dir: string;
let reg: Registry;
let proxy: Server;
let proxyHost: string;
let mode: Mode = 'pass';
let stalled = false;
let env: Record<string, string>;
const NAME = 'hostile/app:1';

function isBlob(url: string): boolean {
  return /\/blobs\/sha256:/.test(url) && !url.includes('/uploads/');
}
function isLayerBlob(url: string, layerDigest: string): boolean {
  return isBlob(url) && url.endsWith(layerDigest);
}
let layerDigest = '';

beforeAll(async () => {
  dir = tempDir('selkie-hostile-');
  reg = await startRegistry(join(dir, 'reg'));
  const port = await freePort();
  proxyHost = `127.0.0.1:${port}`;
  proxy = createServer((req, res) => {
    const url = req.url ?? '';
    const upstream = httpRequest(
      { host: '127.0.0.1', port: Number(reg.host.split(':')[1]), path: url, method: req.method, headers: { ...req.headers, host: reg.host } },
      (up) => {
        const chunks: Buffer[] = [];
        up.on('data', (c) => chunks.push(c));
        up.on('end', () => {
          let body = Buffer.concat(chunks);
          const headers = { ...up.headers };
          const manifest = url.includes('/manifests/') && req.method === 'GET';
          if (mode === 'wrong-digest' && isLayerBlob(url, layerDigest)) body = Buffer.from(body).fill(0x41, 100, 200);
          if (mode === 'wrong-size' && isLayerBlob(url, layerDigest)) body = Buffer.concat([body, Buffer.from('extra')]);
          if (mode === 'truncated-gzip' && isLayerBlob(url, layerDigest)) body = body.subarray(0, body.length >> 1);
          if (mode === 'malformed-json' && manifest) body = Buffer.from('{"schemaVersion": 2, "layers": [');
          if (mode === 'schema1' && manifest) {
            body = Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'hostile/app', tag: '1', fsLayers: [], history: [] }));
            headers['content-type'] = 'application/vnd.docker.distribution.manifest.v1+prettyjws';
          }
          if (mode === 'lying-media-type' && manifest) headers['content-type'] = 'application/vnd.oci.image.index.v1+json';
          if (mode === 'endless-body' && manifest) {
            res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
            const chunk = Buffer.alloc(64 * 1024, 0x20);
            const pump = () => {
              while (res.write(chunk)) { /* until the socket pushes back */ }
            };
            res.on('drain', pump);
            res.on('close', () => res.off('drain', pump));
            pump();
            return;
          }
          if (mode === 'stall-blob' && isLayerBlob(url, layerDigest)) {
            stalled = true;
            res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
            res.write(body.subarray(0, body.length >> 1)); // and never the rest
            return;
          }
          delete headers['content-length'];
          delete headers['transfer-encoding'];
          res.writeHead(up.statusCode ?? 502, headers);
          res.end(body);
        });
      },
    );
    req.pipe(upstream);
  });
  await new Promise<void>((r) => proxy.listen(port, '127.0.0.1', () => r()));
  env = {
    CONTAINERS_REGISTRIES_CONF: writeRegistriesConf(
      dir,
      `[[registry]]\nlocation = "${reg.host}"\ninsecure = true\n[[registry]]\nlocation = "${proxyHost}"\ninsecure = true\n`,
    ),
    REGISTRY_AUTH_FILE: join(dir, 'auth.json'),
  };
  // An image with a layer of its own (random content), in the real registry.
  const unique = randomBytes(4 << 20);
  const r = await loadDockerArchive('localhost/hostile-src:1', [busyboxEntries(), [{ name: 'random.bin', type: 'file', mode: 0o644, content: unique }]]);
  if (r.code !== 0) throw new Error(r.stderr);
  ok(['tag', 'localhost/hostile-src:1', `${reg.host}/${NAME}`], { env });
  ok(['push', `${reg.host}/${NAME}`], { env });
  const inspect = JSON.parse(ok(['image', 'inspect', `${reg.host}/${NAME}`], { env }))[0];
  const manifest = JSON.parse((await (await fetch(`http://${reg.host}/v2/hostile/app/manifests/1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })).text()));
  layerDigest = manifest.layers[1].digest;
  expect(inspect.Digest).toMatch(/^sha256:/);
  ok(['rmi', 'localhost/hostile-src:1', `${reg.host}/${NAME}`], { env });
  await ensureBusybox();
});

afterAll(async () => {
  proxy?.close();
  await reg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function storeSnapshot(): string[] {
  const list = (d: string) => {
    try {
      return readdirSync(join(graphRoot(), d)).map((f) => `${d}/${f}`);
    } catch {
      return [];
    }
  };
  return [...list('images'), ...list('layers'), ...list('blobs/sha256')].sort();
}

const cases: [Mode, RegExp][] = [
  ['wrong-digest', /digest mismatch/],
  ['wrong-size', /size mismatch|digest mismatch/],
  ['truncated-gzip', /size mismatch|unexpected end|truncated|digest mismatch/i],
  ['malformed-json', /malformed JSON|invalid/i],
  ['lying-media-type', /invalid|index|manifest/i],
  ['endless-body', /limit|too large|4 MiB|over/i],
  ['schema1', /schema 1/],
];

describe('hostile registry responses', () => {
  for (const [m, message] of cases) {
    it(`${m}: a clear error, nothing stored, other images intact`, async () => {
      mode = m;
      const before = storeSnapshot();
      // async: the proxy answers from this very process
      const r = await selkieAsync(['pull', `${proxyHost}/${NAME}`], env);
      mode = 'pass';
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(/^Error: /);
      expect(r.stderr).toMatch(message);
      expect(selkie(['image', 'exists', `${proxyHost}/${NAME}`], { env }).code).toBe(1);
      expect(storeSnapshot()).toEqual(before);
      expect(ok(['run', '--rm', 'localhost/itest-busybox:latest', 'echo', 'intact'])).toBe('intact\n');
    });
  }
});

describe('interrupted pulls', () => {
  it('leave no half image, and the next pull completes', async () => {
    mode = 'stall-blob';
    stalled = false;
    const child = spawn(SELKIE, ['pull', `${proxyHost}/${NAME}`], { env: { ...process.env, ...env }, stdio: 'ignore' });
    await waitFor(() => stalled, 30_000);
    await new Promise((r) => setTimeout(r, 200));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    mode = 'pass';
    expect(selkie(['image', 'exists', `${proxyHost}/${NAME}`], { env }).code).toBe(1);
    // no partial blob is visible under a digest name
    for (const f of readdirSync(join(graphRoot(), 'blobs', 'sha256'))) expect(f.startsWith('.tmp-') || /^[0-9a-f]{64}$/.test(f)).toBe(true);
    expect(readdirSync(join(graphRoot(), 'blobs', 'sha256'))).not.toContain(layerDigest.slice(7));
    const again = await selkieAsync(['pull', `${proxyHost}/${NAME}`], env);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(ok(['run', '--rm', `${proxyHost}/${NAME}`, 'sh', '-c', 'wc -c < /random.bin'], { env }).trim()).toBe(String(4 << 20));
    ok(['rmi', `${proxyHost}/${NAME}`], { env });
    expect(gzipSync(Buffer.from('x')).length).toBeGreaterThan(0);
  });
});
