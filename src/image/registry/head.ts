// HEAD requests on a bare socket.  A response to HEAD is a status line and
// headers and never a body (RFC 9110, 9.3.2), so nothing in it needs an
// HTTP parser or a body stream.  The registry client asks with HEAD whether
// a tag still names the image a store has (every re-pull) and whether a blob
// is there (push); through node:http the first such request of a process
// costs ~12 ms more (loading the http client, and compiling its paths on
// first use), an eighth of a whole re-pull.  Everything else goes through
// ./http.ts, which hands HEAD requests here.
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type SecureContext } from 'node:tls';
import { Readable } from 'node:stream';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

/** Where a response's headers may end at the latest (node:http allows 16 KiB; registries send little). */
const MAX_HEADER_BYTES = 64 * 1024;

/** Headers of which node:http keeps the first when a response repeats them (it joins the others with ", "). */
const FIRST_ONLY = new Set([
  'age', 'authorization', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host', 'if-modified-since',
  'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'proxy-authorization', 'referer', 'retry-after',
  'server', 'user-agent',
]);

export interface HeadOptions {
  pool: HeadPool;
  /** ms to wait for the whole header block */
  headersTimeout?: number;
  tls?: { rejectUnauthorized?: boolean; secureContext?: SecureContext };
}

export interface HeadResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  /** ended and empty: what a body reader of a GET response gets from it is nothing */
  body: IncomingMessage & { dump(): Promise<void> };
}

/** Idle kept-alive connections, one per origin, for the next HEAD (a push asks for each blob). */
export class HeadPool {
  private readonly idle = new Map<string, Socket>();

  take(origin: string): Socket | undefined {
    const s = this.idle.get(origin);
    this.idle.delete(origin);
    if (!s || s.destroyed) return undefined;
    s.removeAllListeners('error').removeAllListeners('close').removeAllListeners('data');
    s.ref();
    return s;
  }

  keep(origin: string, s: Socket): void {
    this.idle.get(origin)?.destroy();
    this.idle.set(origin, s);
    s.on('error', () => undefined);
    s.once('close', () => this.idle.get(origin) === s && this.idle.delete(origin));
    s.once('data', () => s.destroy()); // bytes nobody asked for (a 408 before the server closes): not reusable
    s.unref(); // an idle connection keeps no process alive
  }

  close(): void {
    for (const s of this.idle.values()) s.destroy();
    this.idle.clear();
  }
}

function protocolError(message: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(message);
  err.code = 'ERR_INVALID_HTTP_RESPONSE';
  return err;
}

/** The request's bytes; a name or value that could split the request is refused, as node:http refuses it. */
export function headRequestText(url: URL, headers: Record<string, string>): string {
  let text = `HEAD ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || /[\r\n\0]/.test(value)) {
      const err: NodeJS.ErrnoException = new Error(`invalid HTTP header ${JSON.stringify(name)}`);
      err.code = 'ERR_INVALID_CHAR';
      throw err;
    }
    if (name.toLowerCase() !== 'host') text += `${name}: ${value}\r\n`;
  }
  return `${text}\r\n`;
}

/**
 * The status and headers of one response block (its lines without the
 * blank one), or a protocol error.  `keepAlive`: the connection may carry
 * another request.
 */
export function parseHeadResponse(block: string): { statusCode: number; headers: IncomingHttpHeaders; keepAlive: boolean } {
  const lines = block.split('\r\n');
  const status = /^HTTP\/1\.([01]) (\d{3})(?: [^\r\n]*)?$/.exec(lines[0]);
  if (!status) throw protocolError(`malformed HTTP status line ${JSON.stringify(lines[0].slice(0, 80))}`);
  const headers: IncomingHttpHeaders = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0 || /^[ \t]/.test(line)) throw protocolError(`malformed HTTP header line ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const had = headers[name];
    if (name === 'set-cookie') headers[name] = [...((had as string[] | undefined) ?? []), value];
    else if (had === undefined) headers[name] = value;
    else if (!FIRST_ONLY.has(name)) headers[name] = `${had}, ${value}`;
  }
  const connection = String(headers.connection ?? '').toLowerCase();
  const keepAlive = status[1] === '1' ? !/\bclose\b/.test(connection) : /\bkeep-alive\b/.test(connection);
  return { statusCode: Number(status[2]), headers, keepAlive };
}

function emptyBody(): HeadResponse['body'] {
  const body = new Readable({ read: () => body.push(null) }) as unknown as HeadResponse['body'];
  // Nothing to read and no connection behind it (reading it to its end would take ~1 ms of stream machinery).
  body.dump = () => Promise.resolve();
  return body;
}

function open(url: URL, opts: HeadOptions): Socket {
  const https = url.protocol === 'https:';
  const port = Number(url.port) || (https ? 443 : 80);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!https) return netConnect({ host, port });
  return tlsConnect({
    host,
    port,
    ...(isIP(host) ? {} : { servername: host }),
    rejectUnauthorized: opts.tls?.rejectUnauthorized ?? true,
    ...(opts.tls?.secureContext ? { secureContext: opts.tls.secureContext } : {}),
  });
}

/** Set on an error of a kept connection that ended before answering: the server had closed it, ask again on a new one. */
const STALE = Symbol('stale connection');

function exchange(s: Socket, text: string, origin: string, opts: HeadOptions): Promise<HeadResponse> {
  return new Promise((resolve, reject) => {
    let got = '';
    const fail = (err: Error) => {
      cleanup();
      s.on('error', () => undefined); // whatever the closing socket still reports: this request already failed
      s.destroy();
      if (got === '') (err as unknown as Record<symbol, boolean>)[STALE] = true;
      reject(err);
    };
    const onError = (err: Error) => fail(err);
    const onEnd = () => {
      const err: NodeJS.ErrnoException = new Error('socket hang up');
      err.code = 'ECONNRESET';
      fail(err);
    };
    const onTimeout = () => {
      const err: NodeJS.ErrnoException = new Error('waiting for the response timed out');
      err.code = 'ETIMEDOUT';
      fail(err);
    };
    const onData = (chunk: Buffer) => {
      got += chunk.toString('latin1');
      for (;;) {
        const end = got.indexOf('\r\n\r\n');
        if (end < 0) {
          if (got.length > MAX_HEADER_BYTES) fail(protocolError(`the response headers are larger than ${MAX_HEADER_BYTES / 1024} KiB`));
          return;
        }
        let parsed;
        try {
          parsed = parseHeadResponse(got.slice(0, end));
        } catch (err) {
          return fail(err as Error);
        }
        const rest = got.slice(end + 4);
        // 1xx: an interim response, the final one follows (101 would switch protocols: not asked for).
        if (parsed.statusCode >= 100 && parsed.statusCode < 200 && parsed.statusCode !== 101) {
          got = rest;
          continue;
        }
        cleanup();
        // Anything after the headers is not HTTP this client speaks: that connection is not used again.
        if (parsed.keepAlive && rest === '') opts.pool.keep(origin, s);
        else s.destroy();
        resolve({ statusCode: parsed.statusCode, headers: parsed.headers, body: emptyBody() });
        return;
      }
    };
    const cleanup = () => {
      s.off('data', onData).off('error', onError).off('end', onEnd).off('close', onEnd).off('timeout', onTimeout);
      s.setTimeout(0);
    };
    s.on('data', onData).on('error', onError).on('end', onEnd).on('close', onEnd).on('timeout', onTimeout);
    if (opts.headersTimeout) s.setTimeout(opts.headersTimeout);
    s.write(text, 'latin1');
  });
}

/** A HEAD request: a kept connection to the origin if there is one, else a new one. */
export async function head(url: URL, headers: Record<string, string>, opts: HeadOptions): Promise<HeadResponse> {
  const text = headRequestText(url, headers);
  const origin = `${url.protocol}//${url.host}`;
  const kept = opts.pool.take(origin);
  if (kept) {
    try {
      return await exchange(kept, text, origin, opts);
    } catch (err) {
      if (!(err as Record<symbol, boolean>)[STALE]) throw err;
    }
  }
  return exchange(open(url, opts), text, origin, opts);
}
