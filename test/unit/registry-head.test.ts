// HEAD on a bare socket (src/image/registry/head.ts), against loopback
// servers that answer with the bytes each test gives them.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { head, headRequestText, HeadPool, parseHeadResponse } from '../../src/image/registry/head';

const servers: Server[] = [];
const pools: HeadPool[] = [];

afterEach(async () => {
  for (const p of pools.splice(0)) p.close();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A server calling `answer` with each request's text; returns its URL and the connections it accepted. */
async function rawServer(answer: (request: string, socket: Socket, n: number) => void): Promise<{ url: (path: string) => URL; connections: () => number; closed: () => number; sockets: Socket[]; requests: string[] }> {
  let connections = 0;
  let closed = 0;
  const sockets: Socket[] = [];
  const requests: string[] = [];
  const server = createServer((socket) => {
    connections++;
    sockets.push(socket);
    let buf = '';
    socket.on('error', () => undefined);
    socket.on('close', () => closed++);
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      let end;
      while ((end = buf.indexOf('\r\n\r\n')) >= 0) {
        const request = buf.slice(0, end);
        buf = buf.slice(end + 4);
        requests.push(request);
        answer(request, socket, requests.length);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  const port = (server.address() as AddressInfo).port;
  return { url: (path) => new URL(`http://127.0.0.1:${port}${path}`), connections: () => connections, closed: () => closed, sockets, requests };
}

function pool(): HeadPool {
  const p = new HeadPool();
  pools.push(p);
  return p;
}

describe('parseHeadResponse', () => {
  it('reads the status and headers, lower-cased, repeated ones as node:http joins them', () => {
    const r = parseHeadResponse(
      ['HTTP/1.1 200 OK', 'Content-Type: application/a', 'content-type: application/b', 'WWW-Authenticate: Bearer realm="x"', 'Www-Authenticate: Basic realm="y"', 'Set-Cookie: a=1', 'Set-Cookie: b=2', 'Docker-Content-Digest:  sha256:ab  '].join('\r\n'),
    );
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('application/a');
    expect(r.headers['www-authenticate']).toBe('Bearer realm="x", Basic realm="y"');
    expect(r.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(r.headers['docker-content-digest']).toBe('sha256:ab');
    expect(r.keepAlive).toBe(true);
  });

  it('keeps a connection open as HTTP/1.1 and 1.0 say', () => {
    expect(parseHeadResponse('HTTP/1.1 404 Not Found\r\nConnection: close').keepAlive).toBe(false);
    expect(parseHeadResponse('HTTP/1.0 200 OK').keepAlive).toBe(false);
    expect(parseHeadResponse('HTTP/1.0 200 OK\r\nConnection: Keep-Alive').keepAlive).toBe(true);
    expect(parseHeadResponse('HTTP/1.1 204').statusCode).toBe(204);
  });

  it('refuses what is not an HTTP/1 response', () => {
    for (const bad of ['HTTP/2 200', 'SSH-2.0-OpenSSH', 'HTTP/1.1 20 OK', 'HTTP/1.1 200 OK\r\nno colon here', 'HTTP/1.1 200 OK\r\n folded: line', 'HTTP/1.1 200 OK\r\n: empty name']) {
      expect(() => parseHeadResponse(bad), bad).toThrow(/malformed HTTP/);
    }
  });
});

describe('headRequestText', () => {
  it('writes the request line, Host and the headers', () => {
    expect(headRequestText(new URL('http://r.example:5000/v2/a/manifests/1?x=y'), { accept: 'a/b' })).toBe('HEAD /v2/a/manifests/1?x=y HTTP/1.1\r\nHost: r.example:5000\r\naccept: a/b\r\n\r\n');
  });

  it('refuses a header that would split the request (a hostile token, say)', () => {
    expect(() => headRequestText(new URL('http://r/'), { authorization: 'Bearer x\r\nX-Evil: 1' })).toThrow(/invalid HTTP header "authorization"/);
    expect(() => headRequestText(new URL('http://r/'), { 'bad name': 'x' })).toThrow(/invalid HTTP header/);
  });
});

describe('head', () => {
  it('asks twice on one kept connection, and again on a new one when the server closed the kept one', async () => {
    const srv = await rawServer((req, socket, n) => {
      socket.write(`HTTP/1.1 200 OK\r\nDocker-Content-Digest: sha256:${n}\r\nContent-Length: 1234\r\n\r\n`);
      if (n === 2) socket.end(); // the server ends its side after the second answer
    });
    const p = pool();
    const a = await head(srv.url('/v2/x/manifests/1'), { accept: 'x/y' }, { pool: p });
    expect([a.statusCode, a.headers['docker-content-digest'], a.headers['content-length']]).toEqual([200, 'sha256:1', '1234']);
    await a.body.dump();
    const b = await head(srv.url('/v2/x/manifests/2'), {}, { pool: p });
    expect(b.headers['docker-content-digest']).toBe('sha256:2');
    expect(srv.connections()).toBe(1);
    await new Promise((r) => setTimeout(r, 50)); // the close reaches the client
    const c = await head(srv.url('/v2/x/manifests/3'), {}, { pool: p });
    expect(c.headers['docker-content-digest']).toBe('sha256:3');
    expect(srv.connections()).toBe(2);
    expect(srv.requests[0]).toMatch(/^HEAD \/v2\/x\/manifests\/1 HTTP\/1\.1\r\nHost: 127\.0\.0\.1:\d+\r\naccept: x\/y$/);
  });

  it('retries once on a new connection when a kept one is dropped without an answer', async () => {
    const srv = await rawServer((req, socket, n) => {
      if (n === 2) return void socket.destroy(); // dropped while the client asks
      socket.write('HTTP/1.1 200 OK\r\n\r\n');
    });
    const p = pool();
    expect((await head(srv.url('/a'), {}, { pool: p })).statusCode).toBe(200);
    expect((await head(srv.url('/b'), {}, { pool: p })).statusCode).toBe(200);
    expect(srv.connections()).toBe(2);
  });

  it('does not reuse a kept connection on which the server sent something unasked', async () => {
    const srv = await rawServer((req, socket) => socket.write('HTTP/1.1 200 OK\r\n\r\n'));
    const p = pool();
    expect((await head(srv.url('/a'), {}, { pool: p })).statusCode).toBe(200);
    // Now that the answer was read and the connection kept, the server says something unasked;
    // the pool drops that connection when it arrives: the server sees it close.
    srv.sockets[0].write('HTTP/1.1 408 Request Timeout\r\n\r\n');
    for (let i = 0; i < 500 && srv.closed() === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(srv.closed()).toBe(1);
    expect((await head(srv.url('/b'), {}, { pool: p })).statusCode).toBe(200);
    expect(srv.connections()).toBe(2);
  });

  it('skips an interim 100 and returns the final answer; Connection: close is not kept', async () => {
    const srv = await rawServer((req, socket) => socket.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm="http://t/token"\r\nConnection: close\r\n\r\n'));
    const p = pool();
    const r = await head(srv.url('/v2/'), {}, { pool: p });
    expect(r.statusCode).toBe(401);
    expect(r.headers['www-authenticate']).toBe('Bearer realm="http://t/token"');
    await head(srv.url('/v2/'), {}, { pool: p });
    expect(srv.connections()).toBe(2);
  });

  it('fails clearly on garbage, endless headers, silence and a refused connection', async () => {
    const garbage = await rawServer((req, socket) => socket.end('SSH-2.0-OpenSSH_9.2\r\n\r\n'));
    await expect(head(garbage.url('/'), {}, { pool: pool() })).rejects.toMatchObject({ code: 'ERR_INVALID_HTTP_RESPONSE', message: expect.stringContaining('malformed HTTP status line') });

    const endless = await rawServer((req, socket) => {
      socket.write('HTTP/1.1 200 OK\r\n');
      const line = `X-Filler: ${'a'.repeat(1000)}\r\n`;
      const pump = () => {
        while (!socket.destroyed && socket.write(line));
        if (!socket.destroyed) socket.once('drain', pump);
      };
      pump();
    });
    await expect(head(endless.url('/'), {}, { pool: pool() })).rejects.toThrow(/response headers are larger than 64 KiB/);

    const silent = await rawServer(() => undefined);
    await expect(head(silent.url('/'), {}, { pool: pool(), headersTimeout: 100 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });

    const hangUp = await rawServer((req, socket) => socket.end('HTTP/1.1 200 OK\r\n'));
    await expect(head(hangUp.url('/'), {}, { pool: pool() })).rejects.toMatchObject({ code: 'ECONNRESET' });

    const gone = await rawServer(() => undefined);
    const url = gone.url('/');
    await new Promise((r) => servers.pop()!.close(r));
    await expect(head(url, {}, { pool: pool() })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('speaks TLS to https: URLs, verifying the certificate unless told not to', async (ctx) => {
    const dir = mkdtempSync(join(tmpdir(), 'selkie-head-tls-'));
    try {
      try {
        execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
      } catch {
        return ctx.skip(); // no openssl
      }
      const server = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (req, res) => {
        res.setHeader('Docker-Content-Digest', `sha256:${req.method}`);
        res.end();
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      servers.push(server as unknown as Server);
      const url = new URL(`https://127.0.0.1:${(server.address() as AddressInfo).port}/v2/`);
      await expect(head(url, {}, { pool: pool() })).rejects.toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
      const r = await head(url, {}, { pool: pool(), tls: { rejectUnauthorized: false } });
      expect([r.statusCode, r.headers['docker-content-digest']]).toEqual([200, 'sha256:HEAD']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
