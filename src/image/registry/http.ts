// HTTP for the registry client, on Node's own http and https.  The client
// was first written on undici, which costs ~330 ms in every selkie process
// that makes a request (loading it, and compiling its WebAssembly HTTP
// parser, which Node waits for at exit), against ~35 ms here; a CLI pays
// that on every pull.  This module gives the client the small part of
// undici's interface it used: an Agent (connection pools, TLS settings) and
// request() resolving with the status, headers and a body stream.  HEAD
// requests take a shorter way (./head.ts).
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { SecureContext } from 'node:tls';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { head, HeadPool } from './head';

export interface ResponseBody extends IncomingMessage {
  /** reads the rest of the body and throws it away (keeps the connection reusable) */
  dump(): Promise<void>;
}

export interface ResponseData {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: ResponseBody;
}

export interface AgentOptions {
  connect?: { rejectUnauthorized?: boolean; secureContext?: SecureContext };
  /** ms to wait for the response headers */
  headersTimeout?: number;
  /** ms the body may stay silent */
  bodyTimeout?: number;
}

export class Agent {
  private http?: HttpAgent;
  private https?: HttpsAgent;
  readonly heads = new HeadPool();

  constructor(readonly options: AgentOptions = {}) {}

  pool(url: URL): HttpAgent {
    if (url.protocol === 'https:') {
      return (this.https ??= new HttpsAgent({
        keepAlive: true,
        rejectUnauthorized: this.options.connect?.rejectUnauthorized ?? true,
        ...(this.options.connect?.secureContext ? { secureContext: this.options.connect.secureContext } : {}),
      }));
    }
    return (this.http ??= new HttpAgent({ keepAlive: true }));
  }

  async close(): Promise<void> {
    this.http?.destroy();
    this.https?.destroy();
    this.heads.close();
  }
}

function timeoutError(what: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${what} timed out`);
  err.code = 'ETIMEDOUT';
  return err;
}

export function request(
  url: URL,
  opts: { method?: string; headers?: Record<string, string>; body?: Buffer | Readable | null; dispatcher: Agent },
): Promise<ResponseData> {
  const { dispatcher } = opts;
  if (opts.method === 'HEAD' && !opts.body) {
    return head(url, opts.headers ?? {}, { pool: dispatcher.heads, headersTimeout: dispatcher.options.headersTimeout, tls: dispatcher.options.connect });
  }
  // node:https (and TLS) is loaded only for registries that speak it.
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { method: opts.method ?? (opts.body ? 'PUT' : 'GET'), headers: opts.headers, agent: dispatcher.pool(url) }, (res) => {
      req.setTimeout(0);
      const bodyTimeout = dispatcher.options.bodyTimeout;
      if (bodyTimeout) res.setTimeout(bodyTimeout, () => res.destroy(timeoutError('reading the response body')));
      const body = res as ResponseBody;
      body.dump = () =>
        new Promise((done) => {
          if (res.readableEnded || res.destroyed) return done();
          res.once('end', () => done());
          res.once('close', () => done());
          res.once('error', () => done());
          res.resume();
        });
      resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body });
    });
    req.on('error', reject);
    const headersTimeout = dispatcher.options.headersTimeout;
    if (headersTimeout) req.setTimeout(headersTimeout, () => req.destroy(timeoutError('waiting for the response')));
    const body = opts.body;
    if (body instanceof Readable) {
      body.on('error', (err) => req.destroy(err));
      body.pipe(req);
    } else {
      req.end(body ?? undefined);
    }
  });
}
