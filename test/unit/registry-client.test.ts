import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { digestOf } from '../../src/image/digest';
import { RegistryClient, RegistryError, type RegistryOptions } from '../../src/image/registry/client';
import { MEDIA } from '../../src/image/types';

// ---- loopback servers -----------------------------------------------------

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void | Promise<void>;

const servers: Server[] = [];
const clients: RegistryClient[] = [];

async function serve(handler: Handler, tls?: { key: Buffer; cert: Buffer }): Promise<{ port: number; host: string }> {
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      Promise.resolve(handler(req, res, Buffer.concat(parts))).catch((err) => {
        res.statusCode = 500;
        res.end(String(err));
      });
    });
  };
  const server: Server = tls ? createTlsServer(tls, listener) : createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const port = (server.address() as AddressInfo).port;
  return { port, host: `127.0.0.1:${port}` };
}

function client(opts: Partial<RegistryOptions> & { registry: string }): RegistryClient {
  const c = new RegistryClient({ insecure: true, ...opts });
  clients.push(c);
  return c;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((resolve) => {
          s.closeAllConnections();
          s.close(() => resolve());
        }),
    ),
  );
});

const b64 = (s: string) => Buffer.from(s).toString('base64');

function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length, ...headers });
  res.end(body);
}

function registryError(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { errors: [{ code, message, detail: null }] }, headers);
}

// ---- a small registry -----------------------------------------------------

interface Logged {
  method: string;
  url: string;
  authorization?: string;
  accept?: string;
  contentRange?: string;
}

class FakeRegistry {
  blobs = new Map<string, Buffer>(); // `${repo}@${digest}`
  manifests = new Map<string, { bytes: Buffer; type: string }>(); // `${repo}:${ref}`
  uploads = new Map<string, { repo: string; data: Buffer }>();
  log: Logged[] = [];
  tags = new Map<string, string[]>();
  /** returns true when the request is allowed; otherwise it gets `challenge` */
  authorize?: (req: IncomingMessage, repo: string | undefined, action: 'pull' | 'push') => boolean;
  challenge = (_repo: string | undefined, _action: string): string => 'Basic realm="fake"';
  /** called first; return true when it answered */
  intercept?: (req: IncomingMessage, res: ServerResponse) => boolean;
  ignoreRange = false;
  absoluteLocations = false;
  host = '';
  private nextUpload = 0;

  async start(): Promise<string> {
    const { host } = await serve((req, res, body) => this.handle(req, res, body));
    this.host = host;
    return host;
  }

  putBlob(repo: string, data: Buffer): string {
    const digest = digestOf(data);
    this.blobs.set(`${repo}@${digest}`, data);
    return digest;
  }

  putManifest(repo: string, tag: string, doc: unknown, type: string = MEDIA.ociManifest): { bytes: Buffer; digest: string } {
    const bytes = Buffer.from(JSON.stringify(doc));
    const digest = digestOf(bytes);
    this.manifests.set(`${repo}:${tag}`, { bytes, type });
    this.manifests.set(`${repo}:${digest}`, { bytes, type });
    return { bytes, digest };
  }

  private location(path: string): string {
    return this.absoluteLocations ? `http://${this.host}${path}` : path;
  }

  private handle(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    const url = new URL(req.url ?? '/', `http://${this.host}`);
    this.log.push({
      method: req.method ?? '',
      url: req.url ?? '',
      authorization: req.headers.authorization,
      accept: req.headers.accept,
      contentRange: req.headers['content-range'] as string | undefined,
    });
    if (this.intercept?.(req, res)) return;
    const method = req.method ?? 'GET';
    const action = method === 'GET' || method === 'HEAD' ? 'pull' : 'push';
    const m = /^\/v2\/(.+?)\/(manifests|blobs|tags)\/(.*)$/.exec(url.pathname);
    const repo = m?.[1];
    if (this.authorize && !this.authorize(req, repo, action)) {
      registryError(res, 401, 'UNAUTHORIZED', 'authentication required', {
        'www-authenticate': this.challenge(repo, action),
      });
      return;
    }
    if (url.pathname === '/v2/') return sendJson(res, 200, {});
    if (!m) return registryError(res, 404, 'NOT_FOUND', 'no route');
    const [, , kind, rest] = m;
    const name = repo as string;

    if (kind === 'manifests') {
      if (method === 'PUT') {
        const digest = digestOf(body);
        const type = req.headers['content-type'] ?? '';
        this.manifests.set(`${name}:${rest}`, { bytes: body, type });
        this.manifests.set(`${name}:${digest}`, { bytes: body, type });
        res.writeHead(201, { 'docker-content-digest': digest, location: `/v2/${name}/manifests/${digest}` });
        return void res.end();
      }
      const found = this.manifests.get(`${name}:${rest}`);
      if (!found) return registryError(res, 404, 'MANIFEST_UNKNOWN', 'manifest unknown');
      res.writeHead(200, {
        'content-type': found.type,
        'content-length': found.bytes.length,
        'docker-content-digest': digestOf(found.bytes),
      });
      return void res.end(method === 'HEAD' ? undefined : found.bytes);
    }

    if (kind === 'tags') {
      const all = this.tags.get(name) ?? [];
      const last = url.searchParams.get('last');
      const start = last ? all.indexOf(last) + 1 : 0;
      const page = all.slice(start, start + 2);
      const headers: Record<string, string> = {};
      if (start + 2 < all.length) headers.link = `</v2/${name}/tags/list?n=2&last=${page[page.length - 1]}>; rel="next"`;
      return sendJson(res, 200, { name, tags: page }, headers);
    }

    // blobs
    if (rest === 'uploads/' && method === 'POST') {
      const mount = url.searchParams.get('mount');
      const from = url.searchParams.get('from');
      if (mount && from && this.blobs.has(`${from}@${mount}`)) {
        this.blobs.set(`${name}@${mount}`, this.blobs.get(`${from}@${mount}`) as Buffer);
        res.writeHead(201, { location: `/v2/${name}/blobs/${mount}`, 'docker-content-digest': mount });
        return void res.end();
      }
      const id = `u${++this.nextUpload}`;
      this.uploads.set(id, { repo: name, data: Buffer.alloc(0) });
      res.writeHead(202, { location: this.location(`/v2/${name}/blobs/uploads/${id}?_state=s0`), range: '0-0' });
      return void res.end();
    }
    const up = /^uploads\/([^/]+)$/.exec(rest);
    if (up) {
      const upload = this.uploads.get(up[1]);
      if (!upload) return registryError(res, 404, 'BLOB_UPLOAD_UNKNOWN', 'blob upload unknown');
      if (url.searchParams.get('_state') === null) return registryError(res, 400, 'BLOB_UPLOAD_INVALID', 'lost state');
      if (method === 'DELETE') {
        this.uploads.delete(up[1]);
        res.writeHead(204);
        return void res.end();
      }
      if (method === 'PATCH') {
        const range = /^(\d+)-(\d+)$/.exec(String(req.headers['content-range'] ?? ''));
        if (!range || Number(range[1]) !== upload.data.length || Number(range[2]) !== upload.data.length + body.length - 1) {
          return registryError(res, 416, 'BLOB_UPLOAD_INVALID', 'bad range');
        }
        upload.data = Buffer.concat([upload.data, body]);
        res.writeHead(202, {
          location: this.location(`/v2/${name}/blobs/uploads/${up[1]}?_state=s${upload.data.length}`),
          range: `0-${upload.data.length - 1}`,
        });
        return void res.end();
      }
      if (method === 'PUT') {
        upload.data = Buffer.concat([upload.data, body]);
        const digest = url.searchParams.get('digest') ?? '';
        if (digestOf(upload.data) !== digest) return registryError(res, 400, 'DIGEST_INVALID', 'digest did not match');
        this.blobs.set(`${name}@${digest}`, upload.data);
        this.uploads.delete(up[1]);
        res.writeHead(201, { location: `/v2/${name}/blobs/${digest}`, 'docker-content-digest': digest });
        return void res.end();
      }
    }
    const blob = this.blobs.get(`${name}@${rest}`);
    if (!blob) return registryError(res, 404, 'BLOB_UNKNOWN', 'blob unknown to registry');
    const range = /^bytes=(\d+)-$/.exec(String(req.headers.range ?? ''));
    if (range && !this.ignoreRange) {
      const from = Number(range[1]);
      res.writeHead(206, {
        'content-length': blob.length - from,
        'content-range': `bytes ${from}-${blob.length - 1}/${blob.length}`,
      });
      return void res.end(blob.subarray(from));
    }
    res.writeHead(200, { 'content-length': blob.length, 'content-type': 'application/octet-stream' });
    res.end(method === 'HEAD' ? undefined : blob);
  }
}

/** A token server: checks Basic credentials and grants scopes it is told to. */
class TokenServer {
  requests: { scopes: string[]; service: string | null; authorization?: string }[] = [];
  users = new Map<string, string>([['alice', 'open-sesame']]);
  /** repos anyone may pull */
  publicRepos = new Set<string>();
  /** repos alice may push */
  pushable = new Set<string>();
  valid = new Map<string, Set<string>>(); // token -> granted scopes
  expiresIn: number | undefined = 300;
  realm = '';
  private n = 0;

  async start(): Promise<void> {
    const { host } = await serve((req, res) => {
      const url = new URL(req.url ?? '/', `http://${host}`);
      const scopes = url.searchParams.getAll('scope');
      this.requests.push({ scopes, service: url.searchParams.get('service'), authorization: req.headers.authorization });
      let user: string | undefined;
      const auth = req.headers.authorization;
      if (auth) {
        const [u, p] = Buffer.from(auth.replace(/^Basic /, ''), 'base64').toString().split(':');
        if (this.users.get(u) !== p) return registryError(res, 401, 'UNAUTHORIZED', 'incorrect username or password');
        user = u;
      }
      const granted = new Set<string>();
      for (const scope of scopes) {
        const [, repo, actions] = scope.split(':');
        for (const action of actions.split(',')) {
          const ok = user
            ? action === 'pull' || this.pushable.has(repo)
            : action === 'pull' && this.publicRepos.has(repo);
          if (ok) granted.add(`${repo}:${action}`);
        }
      }
      const token = `tok-${++this.n}`;
      this.valid.set(token, granted);
      sendJson(res, 200, this.expiresIn === undefined ? { token } : { token, access_token: token, expires_in: this.expiresIn });
    });
    this.realm = `http://${host}/token`;
  }

  /** wire a registry to require tokens from this server */
  protect(reg: FakeRegistry): void {
    reg.authorize = (req, repo, action) => {
      const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
      if (!m) return false;
      const granted = this.valid.get(m[1]);
      if (!granted) return false;
      return repo === undefined || granted.has(`${repo}:${action}`);
    };
    reg.challenge = (repo, action) =>
      repo === undefined
        ? `Bearer realm="${this.realm}",service="fake-registry"`
        : `Bearer realm="${this.realm}",service="fake-registry",scope="repository:${repo}:${action === 'push' ? 'pull,push' : 'pull'}"`;
  }
}

function ociManifest(configDigest: string, layers: string[]): unknown {
  return {
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config: { mediaType: MEDIA.ociConfig, digest: configDigest, size: 2 },
    layers: layers.map((digest) => ({ mediaType: MEDIA.ociLayerGzip, digest, size: 1 })),
  };
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer>) parts.push(c);
  return Buffer.concat(parts);
}

async function caught(p: Promise<unknown>): Promise<RegistryError> {
  try {
    await p;
  } catch (err) {
    return err as RegistryError;
  }
  throw new Error('expected a rejection');
}

// ---- tests ------------------------------------------------------------------

describe('RegistryClient, anonymous', () => {
  it('reads manifests, blobs and tags', async () => {
    const reg = new FakeRegistry();
    const host = await reg.start();
    const layer = reg.putBlob('lib/app', Buffer.from('layer bytes'));
    const { bytes, digest } = reg.putManifest('lib/app', 'v1', ociManifest(digestOf('{}'), [layer]));
    reg.tags.set('lib/app', ['a', 'b', 'c', 'd', 'e']);
    const c = client({ registry: host });

    await c.ping();
    const byTag = await c.getManifest('lib/app', 'v1');
    expect(byTag).toEqual({ bytes, mediaType: MEDIA.ociManifest, digest });
    expect(reg.log.at(-1)?.accept).toContain(MEDIA.dockerSchema1Signed);
    expect(reg.log.at(-1)?.accept).toContain(MEDIA.ociIndex);
    expect((await c.getManifest('lib/app', digest)).bytes).toEqual(bytes);
    expect(await c.headManifest('lib/app', 'v1')).toEqual({ digest, mediaType: MEDIA.ociManifest, size: bytes.length });
    expect(await c.headManifest('lib/app', 'nope')).toBeUndefined();

    expect(await c.blobExists('lib/app', layer)).toBe(true);
    expect(await c.blobExists('lib/app', digestOf('other'))).toBe(false);
    const blob = await c.getBlob('lib/app', layer);
    expect(blob.size).toBe(11);
    expect((await readAll(blob.stream)).toString()).toBe('layer bytes');

    expect(await c.listTags('lib/app')).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(reg.log.every((l) => l.authorization === undefined)).toBe(true);
  });

  it('takes the media type from the document when the Content-Type is generic', async () => {
    const reg = new FakeRegistry();
    const host = await reg.start();
    reg.putManifest('a', 'list', { schemaVersion: 2, mediaType: MEDIA.dockerList, manifests: [] }, 'application/json');
    reg.putManifest('a', 'idx', { schemaVersion: 2, manifests: [] }, '');
    reg.putManifest('a', 'old', { schemaVersion: 1, name: 'a', signatures: [] }, 'text/plain; charset=utf-8');
    reg.putManifest('a', 'typed', { schemaVersion: 2 }, `${MEDIA.dockerManifest}; charset=utf-8`);
    const c = client({ registry: host });
    expect((await c.getManifest('a', 'list')).mediaType).toBe(MEDIA.dockerList);
    expect((await c.getManifest('a', 'idx')).mediaType).toBe(MEDIA.ociIndex);
    expect((await c.getManifest('a', 'old')).mediaType).toBe(MEDIA.dockerSchema1Signed);
    expect((await c.getManifest('a', 'typed')).mediaType).toBe(MEDIA.dockerManifest);
  });

  it('refuses invalid names before sending anything', async () => {
    const reg = new FakeRegistry();
    const host = await reg.start();
    const c = client({ registry: host });
    await expect(c.getManifest('../x', 'v1')).rejects.toThrow(/invalid repository name/);
    await expect(c.getManifest('a', 'v1/../../x')).rejects.toThrow(/invalid tag or digest/);
    await expect(c.getBlob('a', 'sha256:zz')).rejects.toThrow(/invalid digest/);
    expect(() => new RegistryClient({ registry: 'evil.com/x@y' })).toThrow(/invalid registry/);
    expect(reg.log).toEqual([]);
  });
});

describe('RegistryClient, Bearer tokens', () => {
  async function setup() {
    const reg = new FakeRegistry();
    const host = await reg.start();
    const tokens = new TokenServer();
    await tokens.start();
    tokens.protect(reg);
    return { reg, host, tokens };
  }

  it('fetches a token with credentials and scope, caches it per scope', async () => {
    const { reg, host, tokens } = await setup();
    tokens.pushable.add('team/app');
    const layer = reg.putBlob('team/app', Buffer.from('L'));
    const { digest } = reg.putManifest('team/app', 'v1', ociManifest(digestOf('{}'), [layer]));
    const c = client({ registry: host, credentials: { username: 'alice', password: 'open-sesame' } });

    expect((await c.getManifest('team/app', 'v1')).digest).toBe(digest);
    await readAll((await c.getBlob('team/app', layer)).stream);
    expect(await c.blobExists('team/app', layer)).toBe(true);
    await c.headManifest('team/app', 'v1');
    expect(tokens.requests).toEqual([
      { scopes: ['repository:team/app:pull'], service: 'fake-registry', authorization: `Basic ${b64('alice:open-sesame')}` },
    ]);
    // only the first request went out without a token
    expect(reg.log.filter((l) => !l.authorization)).toHaveLength(1);

    const data = Buffer.from('pushed');
    await c.uploadBlob('team/app', digestOf(data), data.length, () => Readable.from([data]));
    expect(tokens.requests.map((r) => r.scopes)).toEqual([['repository:team/app:pull'], ['repository:team/app:pull,push']]);
    expect(reg.blobs.get(`team/app@${digestOf(data)}`)).toEqual(data);

    // concurrent requests share one token fetch
    const c2 = client({ registry: host, credentials: { username: 'alice', password: 'open-sesame' } });
    await c2.ping();
    const before = tokens.requests.length;
    await Promise.all([1, 2, 3, 4].map(() => c2.blobExists('team/app', layer)));
    expect(tokens.requests.length - before).toBeLessThanOrEqual(1);
  });

  it('uses anonymous tokens for public repositories and access_token / expires_in defaults', async () => {
    const { reg, host, tokens } = await setup();
    tokens.publicRepos.add('library/busybox');
    tokens.expiresIn = undefined; // only "token", default lifetime
    reg.putManifest('library/busybox', 'latest', ociManifest(digestOf('{}'), []));
    const c = client({ registry: host });
    await c.getManifest('library/busybox', 'latest');
    await c.getManifest('library/busybox', 'latest');
    expect(tokens.requests).toHaveLength(1);
    expect(tokens.requests[0].authorization).toBeUndefined();
  });

  it('renews an expired or revoked token once', async () => {
    const { reg, host, tokens } = await setup();
    reg.putManifest('team/app', 'v1', ociManifest(digestOf('{}'), []));
    const c = client({ registry: host, credentials: { username: 'alice', password: 'open-sesame' } });
    await c.getManifest('team/app', 'v1');
    tokens.valid.clear(); // revoked
    await c.getManifest('team/app', 'v1');
    expect(tokens.requests).toHaveLength(2);

    tokens.expiresIn = 1; // lives 0.9 s in the cache
    tokens.valid.clear();
    await c.getManifest('team/app', 'v1');
    const n = tokens.requests.length;
    await new Promise((r) => setTimeout(r, 1000));
    await c.getManifest('team/app', 'v1');
    expect(tokens.requests.length).toBe(n + 1);
  });

  it('says "invalid username/password" without the password', async () => {
    const { reg, host } = await setup();
    reg.putManifest('team/app', 'v1', ociManifest(digestOf('{}'), []));
    const c = client({ registry: host, credentials: { username: 'alice', password: 'hunter2-wrong' } });
    const err = await caught(c.getManifest('team/app', 'v1'));
    expect(err).toBeInstanceOf(RegistryError);
    expect(err.message).toMatch(/invalid username\/password/);
    expect(err.message).toContain('selkie login');
    expect(err.status).toBe(401);
    expect(err.code).toBe('UNAUTHORIZED');
    expect(err.message).not.toContain('hunter2');
    expect(err.message).not.toContain(b64('alice:hunter2-wrong'));
    expect(String(err.stack)).not.toContain('hunter2');
  });

  it('says "authentication required" when no credentials reach a private repository', async () => {
    const { reg, host, tokens } = await setup();
    reg.putManifest('team/app', 'v1', ociManifest(digestOf('{}'), []));
    const c = client({ registry: host });
    const err = await caught(c.getManifest('team/app', 'v1'));
    expect(err.message).toMatch(/^authentication required: reading manifest v1 in 127\.0\.0\.1:\d+\/team\/app/);
    expect(err.message).toContain(`(log in with selkie login ${host})`);
    expect(err.status).toBe(401);
    // one anonymous token was tried, not more
    expect(tokens.requests).toHaveLength(1);
    expect(reg.log).toHaveLength(2);
  });

  it('reports a denied push with credentials without leaking the token', async () => {
    const { host, tokens } = await setup();
    const c = client({ registry: host, credentials: { username: 'alice', password: 'open-sesame' } });
    const data = Buffer.from('x');
    const err = await caught(c.uploadBlob('not/mine', digestOf(data), 1, () => Readable.from([data])));
    expect(err.message).toMatch(/uploading blob .* access denied/);
    expect(err.message).not.toMatch(/tok-\d/);
    expect(err.message).not.toContain('open-sesame');
    expect(tokens.requests.length).toBeLessThanOrEqual(2);
  });

  it('exchanges an identity token with the OAuth refresh-token grant', async () => {
    const forms: URLSearchParams[] = [];
    const { host: tokenHost } = await serve((req, res, body) => {
      const form = new URLSearchParams(body.toString());
      forms.push(form);
      if (req.method !== 'POST' || form.get('refresh_token') !== 'refresh-123') {
        return registryError(res, 401, 'UNAUTHORIZED', 'bad token');
      }
      sendJson(res, 200, { access_token: 'oauth-access', expires_in: 300 });
    });
    const reg = new FakeRegistry();
    const host = await reg.start();
    reg.authorize = (req) => req.headers.authorization === 'Bearer oauth-access';
    reg.challenge = (repo) => `Bearer realm="http://${tokenHost}/token",service="svc",scope="repository:${repo}:pull"`;
    reg.tags.set('a/b', ['x']);
    const c = client({ registry: host, credentials: { username: '<token>', password: 'refresh-123' } });
    expect(await c.listTags('a/b')).toEqual(['x']);
    expect(Object.fromEntries(forms[0])).toMatchObject({
      grant_type: 'refresh_token',
      service: 'svc',
      scope: 'repository:a/b:pull',
    });
    const bad = client({ registry: host, credentials: { username: '<token>', password: 'stale-456' } });
    const err = await caught(bad.listTags('a/b'));
    expect(err.message).toMatch(/invalid username\/password/);
    expect(err.message).not.toContain('stale-456');
  });

  it('ping with credentials checks them', async () => {
    const { host } = await setup();
    await client({ registry: host, credentials: { username: 'alice', password: 'open-sesame' } }).ping();
    await client({ registry: host }).ping(); // a 401 without credentials is still a registry
    const err = await caught(client({ registry: host, credentials: { username: 'alice', password: 'nope' } }).ping());
    expect(err.message).toMatch(/invalid username\/password/);
  });
});

describe('RegistryClient, Basic auth', () => {
  async function setup() {
    const reg = new FakeRegistry();
    const host = await reg.start();
    reg.authorize = (req) => req.headers.authorization === `Basic ${b64('bob:pw:with:colons')}`;
    reg.challenge = () => 'Basic realm="Registry Realm"';
    reg.putManifest('x/y', 'v1', ociManifest(digestOf('{}'), []));
    return { reg, host };
  }

  it('resends with Basic credentials, then sends them up front', async () => {
    const { reg, host } = await setup();
    const c = client({ registry: host, credentials: { username: 'bob', password: 'pw:with:colons' } });
    await c.getManifest('x/y', 'v1');
    expect(reg.log.map((l) => !!l.authorization)).toEqual([false, true]);
    await c.getManifest('x/y', 'v1');
    expect(reg.log).toHaveLength(3);
  });

  it('fails clearly with wrong or missing credentials', async () => {
    const { reg, host } = await setup();
    const bad = await caught(
      client({ registry: host, credentials: { username: 'bob', password: 'sekrit' } }).getManifest('x/y', 'v1'),
    );
    expect(bad.message).toMatch(/invalid username\/password/);
    expect(bad.message).not.toContain('sekrit');
    const none = await caught(client({ registry: host }).getManifest('x/y', 'v1'));
    expect(none.message).toMatch(/^authentication required: /);
    expect(reg.log).toHaveLength(3);
  });
});

describe('RegistryClient, transport', () => {
  it('follows blob redirects without forwarding Authorization', async () => {
    const reg = new FakeRegistry();
    const host = await reg.start();
    const tokens = new TokenServer();
    await tokens.start();
    tokens.protect(reg);
    const data = Buffer.from('from the blob store');
    const digest = digestOf(data);
    const storage: { authorization?: string; url?: string; method?: string }[] = [];
    const store = await serve((req, res) => {
      storage.push({ authorization: req.headers.authorization, url: req.url, method: req.method });
      res.writeHead(200, { 'content-length': data.length });
      res.end(req.method === 'HEAD' ? undefined : data);
    });
    reg.intercept = (req, res) => {
      if (!req.url?.includes('/blobs/sha256:') || !req.headers.authorization) return false;
      res.writeHead(307, { location: `http://${store.host}/bucket/${digest}?X-Signature=abc` });
      res.end();
      return true;
    };
    const c = client({ registry: host, credentials: { username: 'alice', password: 'open-sesame' } });
    const blob = await c.getBlob('team/app', digest);
    expect(await readAll(blob.stream)).toEqual(data);
    expect(await c.blobExists('team/app', digest)).toBe(true);
    expect(storage).toHaveLength(2);
    expect(storage.every((s) => s.authorization === undefined)).toBe(true);
    expect(storage[0].url).toBe(`/bucket/${digest}?X-Signature=abc`);
    expect(reg.log.some((l) => l.authorization?.startsWith('Bearer '))).toBe(true);
  });

  it('retries 503 and connection resets, not 404', async () => {
    const reg = new FakeRegistry();
    const host = await reg.start();
    reg.putManifest('a/b', 'v1', ociManifest(digestOf('{}'), []));
    let failures = 2;
    reg.intercept = (req, res) => {
      if (failures === 0) return false;
      failures--;
      if (failures === 1) registryError(res, 503, 'UNAVAILABLE', 'try later');
      else req.socket.destroy();
      return true;
    };
    const c = client({ registry: host });
    await c.getManifest('a/b', 'v1');
    expect(reg.log).toHaveLength(3);

    const err = await caught(c.getManifest('a/b', 'nope'));
    expect(reg.log).toHaveLength(4);
    expect(err.status).toBe(404);
    expect(err.code).toBe('MANIFEST_UNKNOWN');
    expect(err.message).toMatch(/^reading manifest nope in 127\.0\.0\.1:\d+\/a\/b: manifest unknown$/);
  });

  it('gives up after the configured retries and shows the registry error', async () => {
    const reg = new FakeRegistry();
    const host = await reg.start();
    reg.intercept = (_req, res) => {
      registryError(res, 500, 'INTERNAL', 'disk full');
      return true;
    };
    const err = await caught(client({ registry: host, retries: 1 }).getManifest('a/b', 'v1'));
    expect(reg.log).toHaveLength(2);
    expect(err.status).toBe(500);
    expect(err.message).toContain('internal: disk full');
  });

  it('resumes blobs with Range, also from registries that ignore it', async () => {
    const reg = new FakeRegistry();
    const host = await reg.start();
    const data = Buffer.from('0123456789abcdef');
    const digest = reg.putBlob('r', data);
    const c = client({ registry: host });
    const part = await c.getBlob('r', digest, { offset: 10 });
    expect(part.size).toBe(16);
    expect((await readAll(part.stream)).toString()).toBe('abcdef');
    reg.ignoreRange = true;
    const whole = await c.getBlob('r', digest, { offset: 10 });
    expect(whole.size).toBe(16);
    expect((await readAll(whole.stream)).toString()).toBe('abcdef');
  });

  it('refuses a manifest over 4 MiB, announced or not', async () => {
    const reg = new FakeRegistry();
    const host = await reg.start();
    const big = Buffer.alloc(4 * 1024 * 1024 + 1, 0x20);
    reg.intercept = (req, res) => {
      if (req.url?.endsWith('/announced')) {
        res.writeHead(200, { 'content-type': MEDIA.ociManifest, 'content-length': big.length });
        res.end(big);
      } else {
        res.writeHead(200, { 'content-type': MEDIA.ociManifest });
        res.write(big.subarray(0, 3 * 1024 * 1024));
        res.end(big.subarray(3 * 1024 * 1024));
      }
      return true;
    };
    const c = client({ registry: host });
    await expect(c.getManifest('a', 'announced')).rejects.toThrow(/manifest is larger than the 4 MiB limit/);
    await expect(c.getManifest('a', 'chunked')).rejects.toThrow(/manifest is larger than the 4 MiB limit/);
  });

  it('refuses a manifest that does not match the digest asked for', async () => {
    const reg = new FakeRegistry();
    const host = await reg.start();
    const wanted = digestOf('the real one');
    reg.manifests.set(`a:${wanted}`, { bytes: Buffer.from('{"schemaVersion":2}'), type: MEDIA.ociManifest });
    const err = await caught(client({ registry: host }).getManifest('a', wanted));
    expect(err.message).toContain(`not ${wanted}: refusing it`);
    expect(err.code).toBe('DIGEST_INVALID');
  });

  it('with tlsVerify=false falls back to plain HTTP', async () => {
    const reg = new FakeRegistry();
    const host = await reg.start();
    reg.putManifest('a', 'v1', ociManifest(digestOf('{}'), []));
    const c = client({ registry: host, insecure: false, tlsVerify: false });
    await c.getManifest('a', 'v1');
    await c.getManifest('a', 'v1');
    // and never without it
    const strict = client({ registry: host, insecure: false });
    const err = await caught(strict.getManifest('a', 'v1'));
    expect(err).toBeInstanceOf(RegistryError);
    expect(reg.log).toHaveLength(2);
  });
});

describe('RegistryClient, push', () => {
  for (const absolute of [false, true]) {
    it(`uploads monolithically (${absolute ? 'absolute' : 'relative'} Location)`, async () => {
      const reg = new FakeRegistry();
      reg.absoluteLocations = absolute;
      const host = await reg.start();
      const data = Buffer.from('a monolithic blob');
      const digest = digestOf(data);
      await client({ registry: host }).uploadBlob('a/b', digest, data.length, () =>
        Readable.from([data.subarray(0, 5), data.subarray(5)]),
      );
      expect(reg.blobs.get(`a/b@${digest}`)).toEqual(data);
      expect(reg.log.map((l) => l.method)).toEqual(['POST', 'PUT']);
      expect(reg.log[1].url).toMatch(/^\/v2\/a\/b\/blobs\/uploads\/u1\?_state=s0&digest=sha256%3A[0-9a-f]{64}$/);
    });
  }

  it('uploads in chunks', async () => {
    const reg = new FakeRegistry();
    const host = await reg.start();
    const data = Buffer.from('0123456789');
    const digest = digestOf(data);
    await client({ registry: host }).uploadBlob(
      'a/b',
      digest,
      data.length,
      () => Readable.from([data.subarray(0, 3), data.subarray(3, 9), data.subarray(9)]),
      { chunkSize: 4 },
    );
    expect(reg.blobs.get(`a/b@${digest}`)).toEqual(data);
    expect(reg.log.map((l) => `${l.method} ${l.contentRange ?? ''}`.trim())).toEqual([
      'POST',
      'PATCH 0-3',
      'PATCH 4-7',
      'PATCH 8-9',
      'PUT',
    ]);
  });

  it('refuses a stream that does not match the announced size', async () => {
    const reg = new FakeRegistry();
    const host = await reg.start();
    const data = Buffer.from('0123456789');
    const c = client({ registry: host });
    await expect(c.uploadBlob('a/b', digestOf(data), 4, () => Readable.from([data]), { chunkSize: 4 })).rejects.toThrow(
      /longer than its announced 4 bytes/,
    );
    await expect(c.uploadBlob('a/b', digestOf(data), 4, () => Readable.from([data]))).rejects.toThrow(RegistryError);
    expect(reg.blobs.size).toBe(0);
  });

  it('mounts across repositories: 201 mounted, 202 not (upload cancelled)', async () => {
    const reg = new FakeRegistry();
    const host = await reg.start();
    const digest = reg.putBlob('base/img', Buffer.from('shared'));
    const c = client({ registry: host });
    expect(await c.mountBlob('app/img', digest, 'base/img')).toBe(true);
    expect(reg.blobs.has(`app/img@${digest}`)).toBe(true);
    expect(await c.mountBlob('app/img', digestOf('missing'), 'base/img')).toBe(false);
    expect(reg.log.map((l) => l.method)).toEqual(['POST', 'POST', 'DELETE']);
    expect(reg.uploads.size).toBe(0);
    expect(reg.log[0].url).toBe(`/v2/app/img/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=base%2Fimg`);
  });

  it('mount asks for push on the target and pull on the source', async () => {
    const reg = new FakeRegistry();
    const host = await reg.start();
    const tokens = new TokenServer();
    await tokens.start();
    tokens.protect(reg);
    tokens.pushable.add('app/img');
    const digest = reg.putBlob('base/img', Buffer.from('shared'));
    const c = client({ registry: host, credentials: { username: 'alice', password: 'open-sesame' } });
    expect(await c.mountBlob('app/img', digest, 'base/img')).toBe(true);
    expect(tokens.requests.at(-1)?.scopes.sort()).toEqual(['repository:app/img:pull,push', 'repository:base/img:pull']);
  });

  it('puts manifests and returns their digest', async () => {
    const reg = new FakeRegistry();
    const host = await reg.start();
    const bytes = Buffer.from(JSON.stringify(ociManifest(digestOf('{}'), [])));
    const digest = await client({ registry: host }).putManifest('a/b', 'v2', bytes, MEDIA.ociManifest);
    expect(digest).toBe(digestOf(bytes));
    expect(reg.manifests.get('a/b:v2')).toEqual({ bytes, type: MEDIA.ociManifest });
    await expect(client({ registry: host }).putManifest('a/b', digestOf('x'), bytes, MEDIA.ociManifest)).rejects.toThrow(
      /its content has digest/,
    );
  });
});

describe('RegistryClient, TLS', () => {
  let dir = '';
  let tls: { key: Buffer; cert: Buffer } | undefined;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'selkie-tls-'));
    try {
      execFileSync(
        'openssl',
        ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
          '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
          '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
        { stdio: 'ignore' },
      );
      tls = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
    } catch {
      tls = undefined; // no openssl here
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('verifies certificates, trusts an extra CA file, and skips checks with tlsVerify=false', async (ctx) => {
    if (!tls) return ctx.skip();
    const seen: string[] = [];
    const { host } = await serve((req, res) => {
      seen.push(req.url ?? '');
      sendJson(res, 200, { name: 'a', tags: ['t'] });
    }, tls);
    const strict = await caught(client({ registry: host, insecure: false }).listTags('a'));
    expect(strict.message).toMatch(/TLS certificate of 127\.0\.0\.1:\d+ is not trusted/);
    expect(seen).toHaveLength(0);

    expect(await client({ registry: host, insecure: false, caFile: join(dir, 'cert.pem') }).listTags('a')).toEqual(['t']);
    expect(await client({ registry: host, insecure: false, tlsVerify: false }).listTags('a')).toEqual(['t']);
    const saved = process.env.SELKIE_EXTRA_CA_CERTS;
    process.env.SELKIE_EXTRA_CA_CERTS = join(dir, 'cert.pem');
    try {
      expect(await client({ registry: host, insecure: false }).listTags('a')).toEqual(['t']);
    } finally {
      if (saved === undefined) delete process.env.SELKIE_EXTRA_CA_CERTS;
      else process.env.SELKIE_EXTRA_CA_CERTS = saved;
    }
    expect(seen).toHaveLength(3);
  });

  it('does not send credentials to a plain-HTTP token realm of a TLS registry', async (ctx) => {
    if (!tls) return ctx.skip();
    const tokens = new TokenServer();
    await tokens.start();
    const { host } = await serve((_req, res) => {
      registryError(res, 401, 'UNAUTHORIZED', 'authentication required', {
        'www-authenticate': `Bearer realm="${tokens.realm}",service="s"`,
      });
    }, tls);
    const c = client({ registry: host, insecure: false, caFile: join(dir, 'cert.pem'), credentials: { username: 'alice', password: 'open-sesame' } });
    await expect(c.listTags('a')).rejects.toThrow(/refusing to send credentials to the plain-HTTP token server/);
    expect(tokens.requests).toHaveLength(0);
  });
});
