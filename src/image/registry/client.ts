// A client for the Docker Registry HTTP API v2 / OCI distribution spec: the
// API's requests, and their transport (retries, redirects, the TLS fallback
// of --tls-verify=false, uploads).  HTTP itself is in ./http, authentication
// in ./auth (requests go out anonymously until the registry asks for
// credentials), error responses in ./responses.  Everything the registry
// sends is untrusted: JSON bodies are capped, manifests fetched by digest are
// verified, blobs stream out for the caller to verify.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable, Transform, pipeline, type TransformCallback } from 'node:stream';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { Agent, request, type ResponseData } from './http';
import { digestOf, sha256Hex } from '../digest';
import { MAX_DOCUMENT_BYTES, MEDIA } from '../types';
import type { Credentials } from './auth-file';
import { RegistryAuth } from './auth';
import { clean, errorFrom, header, readCapped, RegistryError } from './responses';

export { RegistryError } from './responses';

export interface RegistryOptions {
  /** 'docker.io' | '127.0.0.1:5000' | 'quay.io' */
  registry: string;
  /** plain HTTP (registries.conf insecure=true) */
  insecure?: boolean;
  /** default true; false: HTTPS without certificate checks, falling back to HTTP when TLS fails */
  tlsVerify?: boolean;
  credentials?: Credentials;
  /** extra CA bundle; default $SELKIE_EXTRA_CA_CERTS (the launcher moves NODE_EXTRA_CA_CERTS there) */
  caFile?: string;
  userAgent?: string;
  /** retries on 429/5xx/connection resets and timeouts; default 3 (after 100 ms, 400 ms, 1.6 s) */
  retries?: number;
}

const MANIFEST_ACCEPT = [
  MEDIA.ociManifest,
  MEDIA.ociIndex,
  MEDIA.dockerManifest,
  MEDIA.dockerList,
  // accepted only so that a schema1-only image is refused by name, not by a vague 404
  MEDIA.dockerSchema1Signed,
  MEDIA.dockerSchema1,
].join(', ');

/** error bodies, token responses: small documents */
const MAX_REDIRECTS = 5;
const MAX_TAG_PAGES = 1000;
const BACKOFF_MS = [100, 400, 1600];

const HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]{1,5})?$/;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REPOSITORY = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const TAG = /^\w[\w.-]{0,127}$/;
const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
const RETRIABLE_ERRORS = new Set([
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
]);
const GENERIC_CONTENT_TYPES = new Set(['', 'application/json', 'text/plain', 'application/octet-stream']);

type Body = Buffer | (() => NodeJS.ReadableStream);

interface Req {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** a path on the registry ('/v2/...') or an absolute URL (a Location the registry gave) */
  target: string | URL;
  headers?: Record<string, string>;
  body?: Body;
  /** token scopes this request needs; empty for registry-wide requests (/v2/) */
  scopes: string[];
  /** what is being done, for errors: 'reading manifest latest in quay.io/a/b' */
  what: string;
  /** false: no auth handshake, a 401 is returned to the caller */
  auth?: boolean;
}

/** where each response came from (relative Link headers), and the request body stream it consumed */
const responseUrl = new WeakMap<ResponseData, URL>();
const requestStream = new WeakMap<ResponseData, NodeJS.ReadableStream>();

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function destroyStream(s: NodeJS.ReadableStream | undefined): void {
  const r = s as (NodeJS.ReadableStream & { destroy?: () => void; readableEnded?: boolean }) | undefined;
  if (r && !r.readableEnded) r.destroy?.();
}

const CERT_ERRORS = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** A network failure in words, with what to do for the usual TLS mistakes. */
function networkProblem(err: Error, url: URL): string {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG') {
    return `${url.host} does not speak TLS (for a plain-HTTP registry use --tls-verify=false or insecure = true in registries.conf)`;
  }
  if (CERT_ERRORS.has(code)) {
    return `the TLS certificate of ${url.host} is not trusted (${code}): add its CA, or use --tls-verify=false`;
  }
  return `connecting to ${url.host}: ${clean(err.message || String(err))}`;
}

function digestMatches(bytes: Buffer, digest: string): boolean {
  const [algorithm, hex] = digest.split(':');
  return (algorithm === 'sha256' ? sha256Hex(bytes) : createHash(algorithm).update(bytes).digest('hex')) === hex;
}

/** Drops the first `n` bytes: a server that ignored our Range sent the whole blob. */
class SkipBytes extends Transform {
  constructor(private remaining: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.remaining >= chunk.length) {
      this.remaining -= chunk.length;
      cb();
      return;
    }
    const out = this.remaining > 0 ? chunk.subarray(this.remaining) : chunk;
    this.remaining = 0;
    cb(null, out);
  }
}

/** `<url>; rel="next"` from a Link header (tag list pagination) */
function nextLink(link: string | undefined): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(',')) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (m && /\brel\s*=\s*"?next"?/i.test(m[2])) return m[1];
  }
  return undefined;
}

/** media type from the document itself, for registries that send a generic Content-Type */
function sniffMediaType(bytes: Buffer): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null) return undefined;
  const d = doc as Record<string, unknown>;
  if (typeof d.mediaType === 'string' && d.mediaType !== '') return d.mediaType;
  if (d.schemaVersion === 1) return 'signatures' in d ? MEDIA.dockerSchema1Signed : MEDIA.dockerSchema1;
  if (Array.isArray(d.manifests)) return MEDIA.ociIndex;
  if (typeof d.config === 'object' && d.config !== null) return MEDIA.ociManifest;
  return undefined;
}

function contentType(res: ResponseData): string {
  return (header(res, 'content-type') ?? '').split(';')[0].trim().toLowerCase();
}

export class RegistryClient {
  readonly registry: string;
  private readonly host: string;
  private scheme: 'https' | 'http';
  /** with tlsVerify=false, until the first HTTPS exchange works we may still fall back to HTTP */
  private schemeSettled: boolean;
  private readonly retries: number;
  private readonly userAgent: string;
  private agent?: Agent;
  private readonly auth: RegistryAuth;

  constructor(private readonly opts: RegistryOptions) {
    if (!HOST.test(opts.registry)) {
      throw new RegistryError(`invalid registry ${JSON.stringify(opts.registry)}: expected host[:port]`);
    }
    this.registry = opts.registry;
    // Docker Hub's name and its API endpoint differ.
    const lower = opts.registry.toLowerCase();
    this.host = lower === 'docker.io' || lower === 'index.docker.io' ? 'registry-1.docker.io' : opts.registry;
    this.scheme = opts.insecure ? 'http' : 'https';
    this.schemeSettled = opts.insecure === true || opts.tlsVerify !== false;
    this.retries = Math.max(0, opts.retries ?? 3);
    this.userAgent = opts.userAgent ?? 'selkie';
    this.auth = new RegistryAuth({
      registry: opts.registry,
      credentials: opts.credentials,
      userAgent: this.userAgent,
      overTls: () => this.scheme === 'https',
      exchange: (method, url, headers, body, what) => this.exchange(method, url, headers, body, what),
    });
  }

  /** closes pooled connections; call when done so idle sockets don't hold the process */
  async close(): Promise<void> {
    const agent = this.agent;
    this.agent = undefined;
    await agent?.close();
  }

  // ---- public API -------------------------------------------------------

  async ping(): Promise<void> {
    const what = `pinging registry ${this.registry}`;
    // Without credentials a 401 still proves a registry is there; with them, login wants them checked.
    const withAuth = this.opts.credentials !== undefined;
    const res = await this.send({ method: 'GET', target: '/v2/', scopes: [], what, auth: withAuth });
    if (res.statusCode === 200 || (!withAuth && res.statusCode === 401)) {
      await res.body.dump();
      return;
    }
    throw await errorFrom(res, what, this.registry);
  }

  async getManifest(repo: string, ref: string): Promise<{ bytes: Buffer; mediaType: string; digest: string }> {
    this.checkRepo(repo);
    this.checkRef(ref);
    const what = `reading manifest ${ref} in ${this.registry}/${repo}`;
    const res = await this.send({
      method: 'GET',
      target: `/v2/${repo}/manifests/${ref}`,
      headers: { accept: MANIFEST_ACCEPT },
      scopes: [pullScope(repo)],
      what,
    });
    if (res.statusCode !== 200) throw await errorFrom(res, what, this.registry);
    const bytes = await readCapped(res, MAX_DOCUMENT_BYTES, what, 'manifest');
    let digest: string;
    if (DIGEST.test(ref)) {
      if (!digestMatches(bytes, ref)) {
        throw new RegistryError(
          `${what}: the registry sent a manifest whose digest is ${digestOf(bytes)}, not ${ref}: refusing it`,
          undefined,
          'DIGEST_INVALID',
        );
      }
      digest = ref;
    } else {
      digest = digestOf(bytes);
    }
    let mediaType = contentType(res);
    if (GENERIC_CONTENT_TYPES.has(mediaType)) mediaType = sniffMediaType(bytes) ?? mediaType;
    return { bytes, mediaType, digest };
  }

  async headManifest(repo: string, ref: string): Promise<{ digest: string; mediaType: string; size: number } | undefined> {
    this.checkRepo(repo);
    this.checkRef(ref);
    const what = `checking manifest ${ref} in ${this.registry}/${repo}`;
    const res = await this.send({
      method: 'HEAD',
      target: `/v2/${repo}/manifests/${ref}`,
      headers: { accept: MANIFEST_ACCEPT },
      scopes: [pullScope(repo)],
      what,
    });
    await res.body.dump();
    if (res.statusCode === 404) return undefined;
    if (res.statusCode !== 200) throw await errorFrom(res, what, this.registry);
    const digest = header(res, 'docker-content-digest');
    const size = Number(header(res, 'content-length'));
    const mediaType = contentType(res);
    if (digest && DIGEST.test(digest) && Number.isSafeInteger(size) && !GENERIC_CONTENT_TYPES.has(mediaType)) {
      return { digest, mediaType, size };
    }
    // The registry did not say enough: fetch the manifest and compute.
    const m = await this.getManifest(repo, ref);
    return { digest: m.digest, mediaType: m.mediaType, size: m.bytes.length };
  }

  /**
   * Streams a blob (following redirects to blob storage). With `offset`, the
   * stream starts at that byte, for resuming. `size` is the whole blob's size,
   * -1 when the registry did not say. The caller verifies the digest.
   */
  async getBlob(repo: string, digest: string, opts: { offset?: number } = {}): Promise<{ stream: NodeJS.ReadableStream; size: number }> {
    this.checkRepo(repo);
    this.checkDigest(digest);
    const offset = opts.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0) throw new RegistryError(`invalid blob offset ${offset}`);
    const what = `reading blob ${digest} from ${this.registry}/${repo}`;
    const res = await this.send({
      method: 'GET',
      target: `/v2/${repo}/blobs/${digest}`,
      headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
      scopes: [pullScope(repo)],
      what,
    });
    const length = Number(header(res, 'content-length') ?? NaN);
    if (res.statusCode === 206 && offset > 0) {
      const m = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/.exec(header(res, 'content-range') ?? '');
      if (!m || Number(m[1]) !== offset) {
        res.body.destroy();
        throw new RegistryError(`${what}: the registry answered a request from byte ${offset} with a different range`, 206);
      }
      const size = m[3] !== '*' ? Number(m[3]) : Number(m[2]) + 1;
      return { stream: res.body, size };
    }
    if (res.statusCode === 200) {
      const size = Number.isSafeInteger(length) ? length : -1;
      if (offset === 0) return { stream: res.body, size };
      // Range ignored: skip what the caller already has.
      const skip = new SkipBytes(offset);
      pipeline(res.body, skip, () => {
        /* errors reach the caller through `skip` */
      });
      return { stream: skip, size };
    }
    throw await errorFrom(res, what, this.registry);
  }

  async blobExists(repo: string, digest: string): Promise<boolean> {
    this.checkRepo(repo);
    this.checkDigest(digest);
    const what = `checking blob ${digest} in ${this.registry}/${repo}`;
    const res = await this.send({ method: 'HEAD', target: `/v2/${repo}/blobs/${digest}`, scopes: [pullScope(repo)], what });
    await res.body.dump();
    if (res.statusCode === 200) return true;
    if (res.statusCode === 404) return false;
    throw await errorFrom(res, what, this.registry);
  }

  /** Cross-repository mount: true when the registry linked the blob (201). */
  async mountBlob(repo: string, digest: string, fromRepo: string): Promise<boolean> {
    this.checkRepo(repo);
    this.checkRepo(fromRepo);
    this.checkDigest(digest);
    const what = `mounting blob ${digest} from ${fromRepo} into ${this.registry}/${repo}`;
    const query = new URLSearchParams({ mount: digest, from: fromRepo });
    const res = await this.send({
      method: 'POST',
      target: `/v2/${repo}/blobs/uploads/?${query}`,
      headers: { 'content-length': '0' },
      scopes: [pushScope(repo), pullScope(fromRepo)],
      what,
    });
    if (res.statusCode === 201) {
      await res.body.dump();
      return true;
    }
    if (res.statusCode === 202) {
      // The registry opened an ordinary upload instead; don't leave it dangling.
      await res.body.dump();
      const location = header(res, 'location');
      if (location) {
        try {
          const del = await this.send({
            method: 'DELETE',
            target: this.resolve(location),
            scopes: [pushScope(repo)],
            what,
          });
          await del.body.dump();
        } catch {
          /* best effort: the registry expires abandoned uploads */
        }
      }
      return false;
    }
    throw await errorFrom(res, what, this.registry);
  }

  /**
   * Uploads a blob: POST, then one PUT with the whole stream (monolithic) or
   * PATCHes of `chunkSize` bytes and a closing PUT. `open` may be called again
   * to resend after a retriable failure.
   */
  async uploadBlob(
    repo: string,
    digest: string,
    size: number,
    open: () => NodeJS.ReadableStream,
    opts: { chunkSize?: number } = {},
  ): Promise<void> {
    this.checkRepo(repo);
    this.checkDigest(digest);
    if (!Number.isSafeInteger(size) || size < 0) throw new RegistryError(`invalid blob size ${size} for ${digest}`);
    const chunkSize = opts.chunkSize;
    if (chunkSize !== undefined && !(Number.isSafeInteger(chunkSize) && chunkSize > 0)) {
      throw new RegistryError(`invalid chunk size ${chunkSize}`);
    }
    const what = `uploading blob ${digest} to ${this.registry}/${repo}`;
    const scopes = [pushScope(repo)];

    const start = await this.send({
      method: 'POST',
      target: `/v2/${repo}/blobs/uploads/`,
      headers: { 'content-length': '0' },
      scopes,
      what,
    });
    if (start.statusCode !== 202 && start.statusCode !== 201) throw await errorFrom(start, what, this.registry);
    await start.body.dump();
    let location = this.uploadLocation(start, what);

    let finish: ResponseData;
    if (chunkSize === undefined) {
      finish = await this.send({
        method: 'PUT',
        target: withDigest(location, digest),
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
        body: open,
        scopes,
        what,
      });
    } else {
      let sent = 0;
      const stream = open();
      try {
        for await (const chunk of chunksOf(stream, chunkSize)) {
          if (sent + chunk.length > size) {
            throw new RegistryError(`${what}: the blob is longer than its announced ${size} bytes`);
          }
          const res = await this.send({
            method: 'PATCH',
            target: location,
            headers: {
              'content-type': 'application/octet-stream',
              'content-length': String(chunk.length),
              'content-range': `${sent}-${sent + chunk.length - 1}`,
            },
            body: chunk,
            scopes,
            what,
          });
          if (res.statusCode !== 202 && res.statusCode !== 204) throw await errorFrom(res, what, this.registry);
          await res.body.dump();
          location = this.uploadLocation(res, what, location);
          sent += chunk.length;
        }
      } finally {
        destroyStream(stream);
      }
      if (sent !== size) throw new RegistryError(`${what}: the blob has ${sent} bytes, not the announced ${size}`);
      finish = await this.send({
        method: 'PUT',
        target: withDigest(location, digest),
        headers: { 'content-length': '0' },
        scopes,
        what,
      });
    }
    if (finish.statusCode !== 201 && finish.statusCode !== 204) throw await errorFrom(finish, what, this.registry);
    await finish.body.dump();
    const stored = header(finish, 'docker-content-digest');
    if (stored && DIGEST.test(stored) && stored.split(':')[0] === digest.split(':')[0] && stored !== digest) {
      throw new RegistryError(`${what}: the registry stored the blob as ${stored}`, finish.statusCode, 'DIGEST_INVALID');
    }
  }

  async putManifest(repo: string, ref: string, bytes: Buffer, mediaType: string): Promise<string> {
    this.checkRepo(repo);
    this.checkRef(ref);
    const digest = digestOf(bytes);
    if (DIGEST.test(ref) && !digestMatches(bytes, ref)) {
      throw new RegistryError(`writing manifest ${ref}: its content has digest ${digest}`);
    }
    const what = `writing manifest ${ref} to ${this.registry}/${repo}`;
    const res = await this.send({
      method: 'PUT',
      target: `/v2/${repo}/manifests/${ref}`,
      headers: { 'content-type': mediaType },
      body: bytes,
      scopes: [pushScope(repo)],
      what,
    });
    if (res.statusCode !== 201 && res.statusCode !== 200 && res.statusCode !== 202) throw await errorFrom(res, what, this.registry);
    await res.body.dump();
    const stored = header(res, 'docker-content-digest');
    if (stored && stored.startsWith('sha256:') && DIGEST.test(stored) && stored !== digest) {
      throw new RegistryError(`${what}: the registry stored the manifest as ${stored}, not ${digest}`, res.statusCode, 'DIGEST_INVALID');
    }
    return digest;
  }

  async listTags(repo: string): Promise<string[]> {
    this.checkRepo(repo);
    const what = `listing tags of ${this.registry}/${repo}`;
    const tags: string[] = [];
    let target: string | URL = `/v2/${repo}/tags/list`;
    for (let page = 0; page < MAX_TAG_PAGES; page++) {
      const res = await this.send({ method: 'GET', target, scopes: [pullScope(repo)], what });
      if (res.statusCode !== 200) throw await errorFrom(res, what, this.registry);
      const bytes = await readCapped(res, MAX_DOCUMENT_BYTES, what, 'tag list');
      let doc: unknown;
      try {
        doc = JSON.parse(bytes.toString('utf8'));
      } catch {
        throw new RegistryError(`${what}: the registry sent malformed JSON`);
      }
      const list = (doc as { tags?: unknown } | null)?.tags;
      if (list !== null && list !== undefined && !Array.isArray(list)) {
        throw new RegistryError(`${what}: "tags" is not a list`);
      }
      for (const t of list ?? []) if (typeof t === 'string') tags.push(t);
      const next = nextLink(header(res, 'link'));
      if (!next) return tags;
      target = this.resolve(next, responseUrl.get(res));
    }
    throw new RegistryError(`${what}: more than ${MAX_TAG_PAGES} pages of tags`);
  }

  // ---- plumbing ---------------------------------------------------------

  private checkRepo(repo: string): void {
    if (!REPOSITORY.test(repo) || repo.length > 255) {
      throw new RegistryError(`invalid repository name ${JSON.stringify(repo)}`);
    }
  }

  private checkRef(ref: string): void {
    if (!TAG.test(ref) && !DIGEST.test(ref)) {
      throw new RegistryError(`invalid tag or digest ${JSON.stringify(ref)}`);
    }
  }

  private checkDigest(digest: string): void {
    if (!DIGEST.test(digest)) throw new RegistryError(`invalid digest ${JSON.stringify(digest)}`);
  }

  private origin(): string {
    return `${this.scheme}://${this.host}`;
  }

  private resolve(target: string | URL, base?: URL): URL {
    if (target instanceof URL) return target;
    const url = new URL(target, base ?? `${this.origin()}/`);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new RegistryError(`the registry sent an unsupported URL scheme ${JSON.stringify(url.protocol)}`);
    }
    return url;
  }

  private uploadLocation(res: ResponseData, what: string, previous?: URL): URL {
    const location = header(res, 'location');
    if (!location) {
      if (previous) return previous;
      throw new RegistryError(`${what}: the registry did not say where to upload (no Location header)`, res.statusCode);
    }
    return this.resolve(location, previous ?? new URL(`${this.origin()}/`));
  }

  private dispatcher(): Agent {
    if (!this.agent) {
      const verify = this.opts.tlsVerify !== false;
      let secureContext: SecureContext | undefined;
      const caFile = this.opts.caFile ?? process.env.SELKIE_EXTRA_CA_CERTS;
      if (caFile && verify && this.scheme === 'https') {
        let extra: Buffer;
        try {
          extra = readFileSync(caFile);
        } catch (err) {
          // the launcher's pass-through of NODE_EXTRA_CA_CERTS is best effort, as in Node
          if (this.opts.caFile) throw new RegistryError(`reading CA file ${caFile}: ${(err as Error).message}`);
          extra = Buffer.alloc(0);
        }
        // One context for all connections: building it parses the whole bundle.
        if (extra.length > 0) {
          secureContext = createSecureContext({ ca: [...rootCertificates, extra.toString('utf8')] });
        }
      }
      this.agent = new Agent({
        connect: { rejectUnauthorized: verify, ...(secureContext ? { secureContext } : {}) },
        headersTimeout: 60_000,
        bodyTimeout: 120_000,
      });
    }
    return this.agent;
  }

  /**
   * One request with retries on 429/5xx and transient network errors. With
   * tlsVerify=false, a first HTTPS attempt that fails before any response
   * switches the client to plain HTTP.
   */
  private async exchange(method: Req['method'], url: URL, headers: Record<string, string>, body: Body | undefined, what: string): Promise<ResponseData> {
    for (let attempt = 0; ; attempt++) {
      let stream: NodeJS.ReadableStream | undefined;
      let payload: Buffer | Readable | undefined;
      if (typeof body === 'function') {
        stream = body();
        payload = stream instanceof Readable ? stream : Readable.from(stream as AsyncIterable<Buffer>);
      } else {
        payload = body;
      }
      let res: ResponseData;
      try {
        res = await request(url, { method, headers, body: payload ?? null, dispatcher: this.dispatcher() });
      } catch (err) {
        destroyStream(stream);
        const code = (err as NodeJS.ErrnoException).code;
        if (!this.schemeSettled && url.protocol === 'https:' && url.host === this.host) {
          // tls-verify=false allows plain HTTP: this registry does not speak TLS.
          this.schemeSettled = true;
          this.scheme = 'http';
          url = new URL(url.href.replace(/^https:/, 'http:'));
          attempt--;
          continue;
        }
        if (code && RETRIABLE_ERRORS.has(code) && attempt < this.retries) {
          await sleep(BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)]);
          continue;
        }
        throw new RegistryError(`${what}: ${networkProblem(err as Error, url)}`, undefined, code);
      }
      if (url.host === this.host) this.schemeSettled = true;
      if ((res.statusCode === 429 || res.statusCode >= 500) && attempt < this.retries) {
        await res.body.dump().catch(() => undefined);
        destroyStream(stream);
        await sleep(BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)]);
        continue;
      }
      responseUrl.set(res, url);
      if (stream) requestStream.set(res, stream);
      return res;
    }
  }

  /** A request with authentication and redirects handled. */
  private async send(req: Req): Promise<ResponseData> {
    let url = this.resolve(req.target);
    let reauthenticated = false;
    for (let hop = 0; hop <= MAX_REDIRECTS; ) {
      const ours = url.origin === new URL(this.origin()).origin;
      const headers: Record<string, string> = { 'user-agent': this.userAgent, ...req.headers };
      // Registry credentials and tokens go to the registry only, never to a redirect target.
      let sentAuth: string | undefined;
      if (ours && req.auth !== false) {
        sentAuth = await this.auth.authorization(req.scopes, req.what);
        if (sentAuth) headers.authorization = sentAuth;
      }
      const res = await this.exchange(req.method, url, headers, req.body, req.what);
      if (res.statusCode === 401 && ours && req.auth !== false) {
        if (reauthenticated) throw await this.auth.unauthorized(res, req, sentAuth);
        await this.auth.learnChallenge(res, req, sentAuth);
        destroyStream(requestStream.get(res)); // the body is sent again from a fresh stream
        reauthenticated = true;
        // the scheme may have changed (tls-verify=false fallback): rebuild from the path
        url = this.resolve(url.pathname + url.search);
        continue;
      }
      const location = header(res, 'location');
      if ((req.method === 'GET' || req.method === 'HEAD') && [301, 302, 303, 307, 308].includes(res.statusCode) && location) {
        await res.body.dump();
        url = this.resolve(location, url);
        hop++;
        continue;
      }
      return res;
    }
    throw new RegistryError(`${req.what}: too many redirects`);
  }


}

function pullScope(repo: string): string {
  return `repository:${repo}:pull`;
}

function pushScope(repo: string): string {
  return `repository:${repo}:pull,push`;
}

function withDigest(location: URL, digest: string): URL {
  const url = new URL(location);
  url.searchParams.set('digest', digest);
  return url;
}

/** Re-chunks a stream into buffers of exactly `size` bytes (the last may be shorter). */
async function* chunksOf(stream: NodeJS.ReadableStream, size: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingLength = 0;
  for await (const piece of stream as AsyncIterable<Buffer | string>) {
    let buf = typeof piece === 'string' ? Buffer.from(piece) : piece;
    while (buf.length > 0) {
      const take = Math.min(size - pendingLength, buf.length);
      pending.push(buf.subarray(0, take));
      pendingLength += take;
      buf = buf.subarray(take);
      if (pendingLength === size) {
        yield Buffer.concat(pending);
        pending = [];
        pendingLength = 0;
      }
    }
  }
  if (pendingLength > 0) yield Buffer.concat(pending);
}
