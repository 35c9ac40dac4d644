// A registry's authentication: which challenge it answered with (Basic, or
// Bearer with a token realm), the credentials that answer it, and the Bearer
// tokens fetched per scope and cached until shortly before they expire.  The
// client (./client) sends requests; this decides their Authorization header
// and turns a 401 into either another attempt or a clear error.  Credentials
// and tokens never appear in error messages.
import { IDENTITY_TOKEN_USERNAME, type Credentials } from './auth-file';
import { parseChallenges, type Challenge } from './challenge';
import type { ResponseData } from './http';
import { allHeaders, authRequired, errorBody, errorFrom, readCapped, RegistryError } from './responses';

const MAX_TOKEN_RESPONSE = 1024 * 1024;
/** lifetime of a token whose response names none (the distribution spec's default) */
const DEFAULT_TOKEN_SECONDS = 60;

export interface AuthOptions {
  /** the registry's name, for messages */
  registry: string;
  credentials?: Credentials;
  userAgent: string;
  /** whether the registry is spoken to over TLS (it may fall back to plain HTTP with --tls-verify=false) */
  overTls: () => boolean;
  /** one request to a token server, with the client's retries */
  exchange: (method: 'GET' | 'POST', url: URL, headers: Record<string, string>, body: Buffer | undefined, what: string) => Promise<ResponseData>;
}

/** What a request needs of authentication: its token scopes (a challenge may add some) and what it does, for errors. */
export interface AuthRequest {
  scopes: string[];
  what: string;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

function basicAuth(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`, 'utf8').toString('base64')}`;
}

function normalizeScopes(scopes: string[]): string[] {
  return [...new Set(scopes)].sort();
}

export class RegistryAuth {
  /** the registry's last authentication challenge: once known, credentials go out up front */
  private challenge?: Challenge;
  private readonly tokens = new Map<string, Promise<CachedToken>>();

  constructor(private readonly opts: AuthOptions) {}

  /** The Authorization header for a request, once the registry's challenge is known. */
  async authorization(scopes: string[], what: string): Promise<string | undefined> {
    const ch = this.challenge;
    if (!ch) return undefined;
    const creds = this.opts.credentials;
    if (ch.scheme === 'basic') return creds ? basicAuth(creds) : undefined;
    const token = await this.token(ch, scopes, what);
    return `Bearer ${token}`;
  }

  /** Records the challenge of a 401 and drops a token it rejected; throws when retrying cannot help. */
  async learnChallenge(res: ResponseData, req: AuthRequest, sentAuth: string | undefined): Promise<void> {
    const challenges = parseChallenges(allHeaders(res, 'www-authenticate'));
    const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm);
    const basic = challenges.find((c) => c.scheme === 'basic');
    const chosen = bearer ?? basic;
    if (!chosen) throw await this.unauthorized(res, req, sentAuth);
    const creds = this.opts.credentials;
    if (chosen.scheme === 'basic' && (!creds || sentAuth?.startsWith('Basic '))) {
      throw await this.unauthorized(res, req, sentAuth);
    }
    await res.body.dump();
    if (sentAuth?.startsWith('Bearer ') && this.challenge) {
      // Expired or revoked: forget it, unless a concurrent request already replaced it.
      const key = this.tokenKey(this.challenge, normalizeScopes(req.scopes));
      const cached = this.tokens.get(key);
      const current = await cached?.then((t) => t.token, () => undefined);
      if (cached && this.tokens.get(key) === cached && `Bearer ${current}` === sentAuth) this.tokens.delete(key);
    }
    // The registry may name the scope it wants: ask for it besides ours.
    const wanted = chosen.params.scope;
    this.challenge = chosen;
    if (wanted && chosen.scheme === 'bearer') {
      for (const s of wanted.split(' ')) if (s && !req.scopes.includes(s)) req.scopes = [...req.scopes, s];
    }
  }

  private tokenKey(ch: Challenge, scopes: string[]): string {
    return `${ch.params.realm}\n${ch.params.service ?? ''}\n${scopes.join(' ')}`;
  }

  private async token(ch: Challenge, requested: string[], what: string): Promise<string> {
    const scopes = normalizeScopes(requested);
    const key = this.tokenKey(ch, scopes);
    const cached = this.tokens.get(key);
    if (cached) {
      try {
        const t = await cached;
        if (t.expiresAt > Date.now()) return t.token;
      } catch {
        /* a failed fetch is retried below */
      }
      if (this.tokens.get(key) === cached) this.tokens.delete(key);
    }
    const pending = this.fetchToken(ch, scopes, what);
    this.tokens.set(key, pending);
    try {
      return (await pending).token;
    } catch (err) {
      if (this.tokens.get(key) === pending) this.tokens.delete(key);
      throw err;
    }
  }

  private async fetchToken(ch: Challenge, scopes: string[], what: string): Promise<CachedToken> {
    const creds = this.opts.credentials;
    let realm: URL;
    try {
      realm = new URL(ch.params.realm);
    } catch {
      throw new RegistryError(`${what}: the registry named an invalid token realm`, 401, 'UNAUTHORIZED');
    }
    if (realm.protocol !== 'https:' && realm.protocol !== 'http:') {
      throw new RegistryError(`${what}: unsupported token realm scheme ${JSON.stringify(realm.protocol)}`, 401, 'UNAUTHORIZED');
    }
    if (creds && realm.protocol === 'http:' && this.opts.overTls()) {
      // Don't let a TLS registry's challenge send our password in clear text.
      throw new RegistryError(
        `${what}: refusing to send credentials to the plain-HTTP token server ${realm.host} of a TLS registry`,
        401,
        'UNAUTHORIZED',
      );
    }
    const headers: Record<string, string> = { 'user-agent': this.opts.userAgent, accept: 'application/json' };
    let res: ResponseData;
    if (creds && creds.username === IDENTITY_TOKEN_USERNAME) {
      // OAuth2 refresh-token grant, as Docker does with an identity token
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.password, client_id: 'selkie' });
      if (ch.params.service) form.set('service', ch.params.service);
      if (scopes.length) form.set('scope', scopes.join(' '));
      headers['content-type'] = 'application/x-www-form-urlencoded';
      res = await this.opts.exchange('POST', realm, headers, Buffer.from(form.toString()), `${what}: getting a token`);
    } else {
      const url = new URL(realm);
      if (ch.params.service) url.searchParams.set('service', ch.params.service);
      for (const s of scopes) url.searchParams.append('scope', s);
      if (creds) headers.authorization = basicAuth(creds);
      res = await this.opts.exchange('GET', url, headers, undefined, `${what}: getting a token`);
    }
    if (res.statusCode === 401 || res.statusCode === 403) {
      await res.body.dump().catch(() => undefined);
      if (creds) {
        throw new RegistryError(
          `${what}: invalid username/password for ${this.opts.registry} (log in again with selkie login ${this.opts.registry})`,
          res.statusCode,
          'UNAUTHORIZED',
        );
      }
      throw authRequired(this.opts.registry, what, res.statusCode);
    }
    if (res.statusCode !== 200) throw await errorFrom(res, `${what}: getting a token from ${realm.host}`, this.opts.registry);
    const bytes = await readCapped(res, MAX_TOKEN_RESPONSE, what, 'token response');
    let doc: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      doc = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new RegistryError(`${what}: the token server ${realm.host} sent malformed JSON`);
    }
    const token = typeof doc?.token === 'string' && doc.token ? doc.token : doc?.access_token;
    if (typeof token !== 'string' || token === '' || /[\r\n]/.test(token)) {
      throw new RegistryError(`${what}: the token server ${realm.host} sent no token`);
    }
    const seconds =
      typeof doc.expires_in === 'number' && Number.isFinite(doc.expires_in) && doc.expires_in > 0
        ? doc.expires_in
        : DEFAULT_TOKEN_SECONDS;
    // renew a little early so a token doesn't expire in flight
    const margin = Math.min(10, seconds / 10);
    return { token, expiresAt: Date.now() + (seconds - margin) * 1000 };
  }

  /** The error for a 401 that another attempt cannot fix. */
  async unauthorized(res: ResponseData, req: AuthRequest, sentAuth: string | undefined): Promise<RegistryError> {
    const detail = (await errorBody(res)).text;
    if (!this.opts.credentials) return authRequired(this.opts.registry, req.what, 401, detail);
    if (sentAuth?.startsWith('Basic ')) {
      return new RegistryError(
        `${req.what}: invalid username/password for ${this.opts.registry} (log in again with selkie login ${this.opts.registry})`,
        401,
        'UNAUTHORIZED',
      );
    }
    return new RegistryError(
      `${req.what}: access denied for the logged-in user${detail ? `: ${detail}` : ''}`,
      401,
      'UNAUTHORIZED',
    );
  }
}
