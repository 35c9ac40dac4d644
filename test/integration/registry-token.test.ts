// Bearer token authentication, as Docker Hub and most registries do it: a
// token server of the tests' own in front of a real registry.
import { rmSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBusybox, ok, selkieAsync, tempDir } from './helpers';
import { freePort, startRegistry, writeRegistriesConf, type Registry } from './registry-fixture';

let dir: string;
let reg: Registry;
let server: Server;
let host: string;
const tokens = new Map<string, string>(); // token -> scope granted
let tokenRequests = 0;
/** METHOD /path of each registry request (not the token server's) */
const requests: string[] = [];
let env: Record<string, string>;

beforeAll(async () => {
  dir = tempDir('selkie-token-');
  reg = await startRegistry(join(dir, 'reg'));
  const port = await freePort();
  host = `127.0.0.1:${port}`;
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://${host}`);
    if (url.pathname === '/token') {
      tokenRequests++;
      const scope = url.searchParams.get('scope') ?? '';
      const basic = req.headers.authorization?.startsWith('Basic ') ? Buffer.from(req.headers.authorization.slice(6), 'base64').toString() : undefined;
      if (basic !== undefined && basic !== 'tok:en-pw') {
        res.writeHead(401).end('{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}');
        return;
      }
      // anonymous users may pull; pushing needs the account
      const granted = basic ? scope : scope.replace(/:push,pull$|:pull,push$/, ':pull');
      const token = `t${Math.random().toString(36).slice(2)}`;
      tokens.set(token, granted);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, expires_in: 300 }));
      return;
    }
    requests.push(`${req.method} ${url.pathname}`);
    const auth = req.headers.authorization;
    const scope = auth?.startsWith('Bearer ') ? tokens.get(auth.slice(7)) : undefined;
    const repo = /^\/v2\/(.+?)\/(manifests|blobs|tags)\//.exec(url.pathname)?.[1];
    const wantPush = req.method !== 'GET' && req.method !== 'HEAD';
    const allowed = scope !== undefined && (!repo || (scope.startsWith(`repository:${repo}:`) && (!wantPush || scope.includes('push'))));
    if (!allowed) {
      const s = repo ? `,scope="repository:${repo}:${wantPush ? 'pull,push' : 'pull'}"` : '';
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${host}/token",service="selkie-test"${s}`, 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
      return;
    }
    const headers = { ...req.headers, host: reg.host };
    delete headers.authorization;
    const up = httpRequest({ host: '127.0.0.1', port: Number(reg.host.split(':')[1]), path: req.url, method: req.method, headers }, (r) => {
      const h = { ...r.headers };
      if (h.location) h.location = h.location.replace(reg.host, host);
      res.writeHead(r.statusCode ?? 502, h);
      r.pipe(res);
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  env = {
    CONTAINERS_REGISTRIES_CONF: writeRegistriesConf(dir, `[[registry]]\nlocation = "${host}"\ninsecure = true\n`),
    REGISTRY_AUTH_FILE: join(dir, 'auth.json'),
  };
  await ensureBusybox();
});

afterAll(async () => {
  server?.close();
  await reg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('Bearer token authentication', () => {
  it('gets tokens for the scope it needs: anonymous pull, push only after login', async () => {
    const name = `${host}/tokened/app:1`;
    ok(['tag', 'localhost/itest-busybox:latest', name], { env });
    const denied = await selkieAsync(['push', name], env);
    expect(denied.code).toBe(125);
    expect(denied.stderr).toMatch(/authentication required|denied|unauthorized/i);

    const login = await selkieAsync(['login', host, '-u', 'tok', '--password-stdin'], env, 'en-pw\n');
    expect(login.stderr).toBe('');
    expect(login.stdout).toBe('Login Succeeded!\n');
    const before = tokenRequests;
    const push = await selkieAsync(['push', name], env);
    expect(push.stderr).toBe('');
    expect(push.code).toBe(0);
    // one token per scope, reused across the blob and manifest requests
    expect(tokenRequests - before).toBeLessThanOrEqual(2);

    expect((await selkieAsync(['logout', host], env)).code).toBe(0);
    ok(['rmi', name], { env });
    const pull = await selkieAsync(['pull', name], env);
    expect(pull.stderr).toBe('');
    expect(pull.code).toBe(0);
    // A re-pull of the tag held: HEAD, refused, a token, HEAD again, and nothing more.
    requests.length = 0;
    const tokensBefore = tokenRequests;
    const again = await selkieAsync(['pull', name], env);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(requests).toEqual(['HEAD /v2/tokened/app/manifests/1', 'HEAD /v2/tokened/app/manifests/1']);
    expect(tokenRequests - tokensBefore).toBe(1);
    ok(['rmi', name], { env });
  });
});
