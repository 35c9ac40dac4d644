// Registry credentials in containers-auth.json(5) files, as Podman keeps them:
// `login` writes the primary file ($XDG_RUNTIME_DIR/containers/auth.json, or
// REGISTRY_AUTH_FILE, or --authfile); lookups fall back, read-only, to
// $XDG_CONFIG_HOME/containers/auth.json and Docker's config.json / .dockercfg.
// Secrets never appear in errors: messages name the file and the key only.
import { mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../../state/atomic';

export interface Credentials {
  username: string;
  password: string;
}

/** Docker's marker username for an OAuth identity (refresh) token kept as the password. */
export const IDENTITY_TOKEN_USERNAME = '<token>';

export class AuthFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthFileError';
  }
}

interface AuthEntry {
  auth?: unknown;
  identitytoken?: unknown;
  username?: unknown;
  password?: unknown;
}

interface AuthFile {
  auths?: Record<string, AuthEntry>;
  [other: string]: unknown;
}

/** Auth files are small; a huge one is a mistake or an attack, not something to parse. */
const MAX_AUTH_FILE_BYTES = 1024 * 1024;

function home(): string {
  return process.env.HOME || homedir();
}

/** The read/write file: --authfile, then REGISTRY_AUTH_FILE, then the runtime dir. */
export function authFilePath(explicit?: string): string {
  if (explicit) return explicit;
  if (process.env.REGISTRY_AUTH_FILE) return process.env.REGISTRY_AUTH_FILE;
  if (process.env.XDG_RUNTIME_DIR) return join(process.env.XDG_RUNTIME_DIR, 'containers', 'auth.json');
  // No runtime dir (e.g. a su session): a private per-user location that survives, as on macOS.
  return join(home(), '.config', 'containers', 'auth.json');
}

interface Source {
  path: string;
  /** .dockercfg: the map of entries is the whole document, without "auths" */
  legacy?: boolean;
}

/** Files consulted in order; an explicit file (flag or REGISTRY_AUTH_FILE) is the only one. */
function readSources(explicit?: string): Source[] {
  if (explicit || process.env.REGISTRY_AUTH_FILE) return [{ path: authFilePath(explicit) }];
  const sources: Source[] = [{ path: authFilePath() }];
  const configHome = process.env.XDG_CONFIG_HOME || join(home(), '.config');
  sources.push({ path: join(configHome, 'containers', 'auth.json') });
  const dockerDir = process.env.DOCKER_CONFIG || join(home(), '.docker');
  sources.push({ path: join(dockerDir, 'config.json') });
  sources.push({ path: join(home(), '.dockercfg'), legacy: true });
  // The fallback for a missing XDG_RUNTIME_DIR is the same as the XDG config file.
  return sources.filter((s, i) => sources.findIndex((o) => o.path === s.path) === i);
}

function loadFile(path: string): AuthFile | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new AuthFileError(`reading credentials file ${path}: ${(err as Error).message}`);
  }
  if (bytes.length > MAX_AUTH_FILE_BYTES) {
    throw new AuthFileError(`credentials file ${path} is larger than ${MAX_AUTH_FILE_BYTES} bytes`);
  }
  if (bytes.toString('utf8').trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    // JSON.parse's message may quote the file's text, which holds secrets.
    throw new AuthFileError(`credentials file ${path} is not valid JSON: fix or remove it`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AuthFileError(`credentials file ${path} is not a JSON object`);
  }
  return value as AuthFile;
}

function entriesOf(file: AuthFile, legacy: boolean): Record<string, AuthEntry> {
  const map = legacy ? (file as Record<string, unknown>) : file.auths;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) return {};
  return map as Record<string, AuthEntry>;
}

function normalizeRegistry(host: string): string {
  const h = host.toLowerCase();
  if (h === 'index.docker.io' || h === 'registry-1.docker.io') return 'docker.io';
  return host;
}

/**
 * Docker writes keys as URLs (`https://index.docker.io/v1/`, `http://host:5000`);
 * containers-auth.json keys are `registry[/namespace[/repo]]`. A URL-style key
 * names a whole registry, so only its host is kept.
 */
export function normalizeAuthKey(key: string): string {
  let k = key.trim();
  const scheme = /^https?:\/\//i.exec(k);
  if (scheme) {
    k = k.slice(scheme[0].length);
    const slash = k.indexOf('/');
    if (slash >= 0) k = k.slice(0, slash);
    return normalizeRegistry(k);
  }
  k = k.replace(/\/v[12]\/?$/, '').replace(/\/+$/, '');
  const slash = k.indexOf('/');
  return slash < 0 ? normalizeRegistry(k) : normalizeRegistry(k.slice(0, slash)) + k.slice(slash);
}

function decodeEntry(entry: AuthEntry, key: string, path: string): Credentials | undefined {
  if (typeof entry !== 'object' || entry === null) return undefined;
  const invalid = () =>
    new AuthFileError(`invalid credentials for "${key}" in ${path}: "auth" must be base64 of "username:password"`);
  if (typeof entry.identitytoken === 'string' && entry.identitytoken !== '') {
    return { username: IDENTITY_TOKEN_USERNAME, password: entry.identitytoken };
  }
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const text = entry.auth.trim();
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw invalid();
    const decoded = Buffer.from(text, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw invalid();
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (typeof entry.username === 'string' && entry.username !== '' && typeof entry.password === 'string') {
    return { username: entry.username, password: entry.password };
  }
  // e.g. an entry for a Docker credential helper: nothing usable here
  return undefined;
}

/** Keys to try for a repository, most specific first: reg/ns/repo, reg/ns, reg. */
function candidateKeys(registry: string, repository: string | undefined): string[] {
  const reg = normalizeRegistry(registry);
  const keys: string[] = [];
  if (repository) {
    const parts = repository.split('/').filter((p) => p !== '');
    for (let n = parts.length; n > 0; n--) keys.push(`${reg}/${parts.slice(0, n).join('/')}`);
  }
  keys.push(reg);
  return keys;
}

/**
 * Credentials for `registry` (and optionally `repository`, without the registry),
 * from the first file that has an entry; within a file the most specific key wins.
 */
export function findCredentials(
  registry: string,
  repository: string | undefined,
  explicit?: string,
): Credentials | undefined {
  const wanted = candidateKeys(registry, repository);
  for (const source of readSources(explicit)) {
    const file = loadFile(source.path);
    if (!file) continue;
    const byKey = new Map<string, { key: string; entry: AuthEntry }>();
    for (const [key, entry] of Object.entries(entriesOf(file, !!source.legacy))) {
      const norm = normalizeAuthKey(key);
      // an exactly written key beats one that only normalizes to it
      if (!byKey.has(norm) || key === norm) byKey.set(norm, { key, entry });
    }
    for (const key of wanted) {
      const hit = byKey.get(key);
      if (!hit) continue;
      const creds = decodeEntry(hit.entry, hit.key, source.path);
      if (creds) return creds;
    }
  }
  return undefined;
}

function checkKey(key: string): string {
  const norm = normalizeAuthKey(key);
  if (norm === '' || /\s/.test(norm) || norm.startsWith('/') || norm.includes('//')) {
    throw new AuthFileError(`invalid registry key ${JSON.stringify(key)}: expected registry[/namespace[/repository]]`);
  }
  return norm;
}

/** A prototype-less copy: a key such as "__proto__" stays an ordinary entry. */
function copyEntries(file: AuthFile): Record<string, AuthEntry> {
  return Object.assign(Object.create(null) as Record<string, AuthEntry>, entriesOf(file, false));
}

function saveFile(path: string, file: AuthFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileAtomic(path, JSON.stringify(file, null, '\t') + '\n', 0o600);
}

/** login: adds or replaces the entry for `key`, keeping every other entry and field. */
export function storeCredentials(key: string, creds: Credentials, explicit?: string): void {
  const norm = checkKey(key);
  if (creds.username === '' || creds.username.includes(':')) {
    throw new AuthFileError('invalid username: it must be non-empty and must not contain ":"');
  }
  const path = authFilePath(explicit);
  const file = loadFile(path) ?? {};
  const auths = copyEntries(file);
  // drop differently spelled keys for the same place, so the new entry is the one found
  for (const k of Object.keys(auths)) if (k !== norm && normalizeAuthKey(k) === norm) delete auths[k];
  auths[norm] = { auth: Buffer.from(`${creds.username}:${creds.password}`, 'utf8').toString('base64') };
  saveFile(path, { ...file, auths });
}

/** logout KEY: true when the primary file had an entry for it. */
export function removeCredentials(key: string, explicit?: string): boolean {
  const norm = checkKey(key);
  const path = authFilePath(explicit);
  const file = loadFile(path);
  if (!file) return false;
  const auths = copyEntries(file);
  let removed = false;
  for (const k of Object.keys(auths)) {
    if (normalizeAuthKey(k) === norm) {
      delete auths[k];
      removed = true;
    }
  }
  if (removed) saveFile(path, { ...file, auths });
  return removed;
}

/** logout --all: empties the primary file's entries (other files are read-only). */
export function removeAllCredentials(explicit?: string): void {
  const path = authFilePath(explicit);
  const file = loadFile(path);
  if (!file) return;
  saveFile(path, { ...file, auths: {} });
}
