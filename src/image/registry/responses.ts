// Responses from a registry, and the errors made of them: everything a
// registry sends is untrusted (bodies capped, text cleaned before it reaches a
// terminal), and no error carries a credential or token.
import type { ResponseData } from './http';

export class RegistryError extends Error {
  /** HTTP status of the response that failed, when there was one */
  status?: number;
  /** registry error code (MANIFEST_UNKNOWN, UNAUTHORIZED, DENIED, NAME_UNKNOWN, ...) or a network error code */
  code?: string;
  constructor(message: string, status?: number, code?: string) {
    super(message);
    this.name = 'RegistryError';
    this.status = status;
    this.code = code;
  }
}

export function header(res: ResponseData, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function allHeaders(res: ResponseData, name: string): string {
  const v = res.headers[name];
  return Array.isArray(v) ? v.join(', ') : (v ?? '');
}

/** Registry-supplied text on a terminal: no control characters, bounded length. */
export function clean(text: string, max = 300): string {
  // eslint-disable-next-line no-control-regex
  const t = text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max)}...` : t;
}

/** Reads a whole response body, refusing more than `cap` bytes. */
export async function readCapped(res: ResponseData, cap: number, what: string, noun: string): Promise<Buffer> {
  const tooLarge = () =>
    new RegistryError(
      `${what}: the ${noun} is larger than the ${cap >= 1024 * 1024 ? `${cap / 1024 / 1024} MiB` : `${cap} byte`} limit`,
      res.statusCode,
      'SIZE_INVALID',
    );
  const declared = Number(header(res, 'content-length'));
  if (Number.isFinite(declared) && declared > cap) {
    res.body.destroy();
    throw tooLarge();
  }
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of res.body) {
    total += (chunk as Buffer).length;
    if (total > cap) {
      res.body.destroy();
      throw tooLarge();
    }
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts);
}

/** The error for a request that needs credentials the user has not given (or the registry refused). */
export function authRequired(registry: string, what: string, status: number, detail?: string): RegistryError {
  return new RegistryError(
    `authentication required: ${what}${detail ? `: ${detail}` : ''} (log in with selkie login ${registry})`,
    status,
    'UNAUTHORIZED',
  );
}

/** The registry's own error text and code from an error response body (capped, untrusted). */
export async function errorBody(res: ResponseData): Promise<{ text: string; code?: string }> {
  let bytes: Buffer;
  try {
    bytes = await readCapped(res, 64 * 1024, '', '');
  } catch {
    return { text: '' };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    return { text: '' };
  }
  const errors = (doc as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors)) return { text: '' };
  const parts: string[] = [];
  let code: string | undefined;
  for (const e of errors.slice(0, 5)) {
    if (typeof e !== 'object' || e === null) continue;
    const c = typeof (e as { code?: unknown }).code === 'string' ? clean((e as { code: string }).code, 64) : '';
    const m = typeof (e as { message?: unknown }).message === 'string' ? clean((e as { message: string }).message) : '';
    code ??= c || undefined;
    const codeText = c.toLowerCase().replace(/_/g, ' ');
    if (!m) parts.push(codeText);
    else if (!codeText || m.toLowerCase() === codeText) parts.push(m);
    else parts.push(`${codeText}: ${m}`);
  }
  return { text: parts.filter(Boolean).join('; '), code };
}

/** A RegistryError from an unexpected response, with the registry's own error text. */
export async function errorFrom(res: ResponseData, what: string, registry: string): Promise<RegistryError> {
  const { text, code } = await errorBody(res);
  if (res.statusCode === 401) return authRequired(registry, what, 401, text);
  const fallback: Record<number, string> = {
    403: 'access denied',
    404: 'not found',
    405: 'the registry does not allow this operation',
    429: 'too many requests',
  };
  const detail = text || fallback[res.statusCode] || `HTTP status ${res.statusCode}`;
  return new RegistryError(`${what}: ${detail}`, res.statusCode, code);
}
