// registries.conf (containers-registries.conf(5), v2 format), its drop-ins
// (containers-registries.conf.d(5)) and short-name aliases, read the way
// rootless Podman reads them, and the rules built on them: which registry
// entry governs a name, where a pull really goes (mirrors, location rewrites,
// blocked registries) and how a short name becomes candidate full names.
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse as parseToml, stringify as stringifyToml, TomlError } from 'smol-toml';
import * as z from 'zod/mini';
import '../zod';
import { formatReference, parseReference, type ImageReference } from '../image/reference';
import { ParseCache } from './parse-cache';
import { sessionDir } from './paths';

export type ShortNameMode = 'enforcing' | 'permissive' | 'disabled';

export interface MirrorEntry {
  location: string;
  insecure: boolean;
  /** per-mirror restriction (`pull-from-mirror`); absent means 'all' */
  pullFromMirror?: 'all' | 'digest-only' | 'tag-only';
}

export interface RegistryEntry {
  prefix: string;
  /** physical location of the prefix; '' only for a wildcard prefix, meaning "no rewrite" */
  location: string;
  insecure: boolean;
  blocked: boolean;
  mirrors: MirrorEntry[];
  mirrorByDigestOnly: boolean;
}

export interface RegistriesConfig {
  unqualifiedSearchRegistries: string[];
  shortNameMode: ShortNameMode;
  registries: RegistryEntry[];
  /** short name (no tag) -> normalized full name (no tag) */
  aliases: Record<string, string>;
  /** the files read, in the order applied (for error messages) */
  sources?: string[];
  /** the file that set unqualified-search-registries */
  searchRegistriesOrigin?: string;
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  home?: string;
  /** default /etc/containers */
  etcDir?: string;
  /**
   * where parsed files are kept between commands (src/config/parse-cache.ts);
   * default: the session directory, unless `env` is given; '' keeps nothing
   */
  cacheFile?: string;
}

/** A registries.conf (or drop-in, or alias file) that cannot be used; the message names the file. */
export class RegistriesConfigError extends Error {
  constructor(readonly file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.name = 'RegistriesConfigError';
  }
}

export class BlockedRegistryError extends Error {
  constructor(readonly prefix: string) {
    super(`registry ${prefix} is blocked in registries.conf`);
    this.name = 'BlockedRegistryError';
  }
}

export class ShortNameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShortNameError';
  }
}

// ---------------------------------------------------------------------------
// Schemas: unknown keys (credential-helpers, proxy, ...) are tolerated and
// ignored, the keys we act on must have the right type.

// Built on first use: a file the parse cache holds (parse-cache.ts) is not
// validated again, and building the schemas costs every process that does.
function buildSchemas() {
  const MirrorSchema = z.object({
    location: z.optional(z.string()),
    insecure: z.optional(z.boolean()),
    'pull-from-mirror': z.optional(z.enum(['', 'all', 'digest-only', 'tag-only'])),
  });

  const RegistrySchema = z.object({
    prefix: z.optional(z.string()),
    location: z.optional(z.string()),
    insecure: z.optional(z.boolean()),
    blocked: z.optional(z.boolean()),
    mirror: z.optional(z.array(MirrorSchema)),
    'mirror-by-digest-only': z.optional(z.boolean()),
    // Only valid on mirrors; accepted here so that we can say so.
    'pull-from-mirror': z.optional(z.string()),
  });

  const AliasesSchema = z.record(z.string(), z.string());

  const RegistriesFileSchema = z.object({
    'unqualified-search-registries': z.optional(z.array(z.string())),
    'short-name-mode': z.optional(z.enum(['', 'enforcing', 'permissive', 'disabled'])),
    registry: z.optional(z.array(RegistrySchema)),
    aliases: z.optional(AliasesSchema),
  });

  const AliasFileSchema = z.object({ aliases: z.optional(AliasesSchema) });
  return { RegistriesFileSchema, AliasFileSchema };
}

let schemas: ReturnType<typeof buildSchemas> | undefined;
const fileSchemas = () => (schemas ??= buildSchemas());

// ---------------------------------------------------------------------------
// Paths

interface Paths {
  userConf: string;
  userDropIns: string;
  systemConf: string;
  systemDropIns: string;
  aliasCache: string;
}

function paths(opts: LoadOptions = {}): Paths {
  const env = opts.env ?? process.env;
  const home = opts.home ?? (env.HOME || homedir());
  const etc = opts.etcDir ?? '/etc/containers';
  const configHome = env.XDG_CONFIG_HOME || join(home, '.config');
  // Podman keeps the machine-written aliases apart from human-edited config, in the cache home.
  const cacheHome = env.XDG_CACHE_HOME || join(home, '.cache');
  return {
    userConf: join(configHome, 'containers', 'registries.conf'),
    userDropIns: join(configHome, 'containers', 'registries.conf.d'),
    systemConf: join(etc, 'registries.conf'),
    systemDropIns: join(etc, 'registries.conf.d'),
    aliasCache: join(cacheHome, 'containers', 'short-name-aliases.conf'),
  };
}

/** Where aliases chosen at a prompt are recorded (and read back with precedence). */
export function shortNameAliasesPath(opts: { env?: NodeJS.ProcessEnv; home?: string } = {}): string {
  return paths(opts).aliasCache;
}

// ---------------------------------------------------------------------------
// Reading one file

interface ParsedFile {
  path: string;
  search?: string[];
  mode?: ShortNameMode;
  registries: RegistryEntry[];
  /** '' values erase an alias set by an earlier file */
  aliases: Record<string, string>;
}

function readText(path: string, required: boolean): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (!required && (code === 'ENOENT' || code === 'ENOTDIR')) return undefined;
    if (code === 'ENOENT') throw new RegistriesConfigError(path, 'no such file');
    throw new RegistriesConfigError(path, `cannot read: ${(e as Error).message}`);
  }
}

function parseTomlFile(path: string, text: string): Record<string, unknown> {
  try {
    return parseToml(text, { unsafeKeyBehaviour: 'throw' }) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof TomlError) throw new RegistriesConfigError(path, `invalid TOML: ${e.message}`);
    throw new RegistriesConfigError(path, `invalid TOML: ${(e as Error).message}`);
  }
}

function keyPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const k of path) {
    if (typeof k === 'number') out += `[${k}]`;
    else {
      const s = String(k);
      const part = /^[A-Za-z0-9_-]+$/.test(s) ? s : JSON.stringify(s);
      out += out === '' ? part : `.${part}`;
    }
  }
  return out || '(top level)';
}

function validate<T>(path: string, schema: z.ZodMiniType<T>, raw: unknown): T {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const details = r.error.issues.map((i) => `${keyPath(i.path)}: ${i.message}`);
  throw new RegistriesConfigError(path, details.join('; '));
}

function parseLocation(file: string, what: string, input: string): string {
  const trimmed = input.replace(/\/+$/, '');
  if (/^https?:\/\//.test(trimmed)) {
    throw new RegistriesConfigError(file, `invalid ${what} ${JSON.stringify(input)}: URI schemes are not supported`);
  }
  return trimmed;
}

const HOST_PORT = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:]+\])(?::[0-9]+)?$/;

/** The name part of a reference as written: 'a/b:1@sha256:..' -> 'a/b'. */
function stripTagAndDigest(text: string): string {
  let rest = text;
  const at = rest.indexOf('@');
  if (at >= 0) rest = rest.slice(0, at);
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) rest = rest.slice(0, colon);
  return rest;
}

/** Checks an alias's left-hand side; returns why it is invalid, or undefined. */
function shortNameProblem(name: string): string | undefined {
  if (stripTagAndDigest(name) !== name) return `invalid short name ${JSON.stringify(name)}: must not contain a tag or digest`;
  let ref: ImageReference;
  try {
    ref = parseReference(name);
  } catch (e) {
    return `invalid short name ${JSON.stringify(name)}: ${(e as Error).message}`;
  }
  if (ref.qualified) return `invalid short name ${JSON.stringify(name)}: must not contain a registry`;
  return undefined;
}

/** Parses an alias's right-hand side into a normalized 'registry/repository', or explains why not. */
function aliasValue(value: string): { value?: string; problem?: string } {
  if (stripTagAndDigest(value) !== value) {
    return { problem: `invalid alias ${JSON.stringify(value)}: must not contain a tag or digest` };
  }
  let ref: ImageReference;
  try {
    ref = parseReference(value);
  } catch (e) {
    return { problem: `invalid alias ${JSON.stringify(value)}: ${(e as Error).message}` };
  }
  if (!ref.qualified) return { problem: `invalid alias ${JSON.stringify(value)}: must contain registry and repository` };
  return { value: `${ref.registry}/${ref.repository}` };
}

function checkAliases(file: string, raw: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const problems: string[] = [];
  for (const [name, value] of Object.entries(raw ?? {})) {
    const bad = shortNameProblem(name);
    if (bad) problems.push(bad);
    if (value === '') {
      out[name] = '';
      continue;
    }
    const v = aliasValue(value);
    if (v.problem) problems.push(v.problem);
    else out[name] = v.value!;
  }
  // All of them at once, so that fixing a file is not whack-a-mole.
  if (problems.length > 0) throw new RegistriesConfigError(file, `[aliases]: ${problems.join('; ')}`);
  return out;
}

function readRegistriesFile(path: string, required: boolean): ParsedFile | undefined {
  const text = readText(path, required);
  if (text === undefined) return undefined;
  const raw = parseTomlFile(path, text);
  if ('registries' in raw) {
    throw new RegistriesConfigError(
      path,
      'the v1 format ([registries.search], [registries.insecure], [registries.block]) is not supported; ' +
        'use the v2 format (unqualified-search-registries and [[registry]] tables), see containers-registries.conf(5)',
    );
  }
  const doc = validate(path, fileSchemas().RegistriesFileSchema, raw);

  const registries: RegistryEntry[] = [];
  const seen = new Set<string>();
  for (const [i, r] of (doc.registry ?? []).entries()) {
    const where = `registry[${i}]`;
    const location = parseLocation(path, `${where}.location`, r.location ?? '');
    let prefix = r.prefix === undefined || r.prefix === '' ? '' : parseLocation(path, `${where}.prefix`, r.prefix);
    if (prefix === '') {
      if (location === '') throw new RegistriesConfigError(path, `${where}: both location and prefix are unset`);
      prefix = location;
    }
    if (prefix.startsWith('*.')) {
      if (/[/@:]/.test(prefix) || prefix.indexOf('*', 1) >= 0) {
        throw new RegistriesConfigError(
          path,
          `${where}.prefix: wildcarded prefix should be in the format *.example.com, not ${JSON.stringify(prefix)}`,
        );
      }
    } else if (prefix.includes('*')) {
      throw new RegistriesConfigError(path, `${where}.prefix: a wildcard is only allowed as a leading "*." (${JSON.stringify(prefix)})`);
    } else if (location === '') {
      throw new RegistriesConfigError(path, `${where}: location is unset and prefix is not in the format *.example.com`);
    }
    if (r['pull-from-mirror'] !== undefined && r['pull-from-mirror'] !== '') {
      throw new RegistriesConfigError(path, `${where}: pull-from-mirror must not be set for a non-mirror registry ${JSON.stringify(prefix)}`);
    }
    const mirrorByDigestOnly = r['mirror-by-digest-only'] ?? false;
    const mirrors: MirrorEntry[] = [];
    for (const [j, m] of (r.mirror ?? []).entries()) {
      const mloc = parseLocation(path, `${where}.mirror[${j}].location`, m.location ?? '');
      if (mloc === '') throw new RegistriesConfigError(path, `${where}.mirror[${j}]: mirror location is unset`);
      const mode = m['pull-from-mirror'];
      if (mirrorByDigestOnly && mode) {
        throw new RegistriesConfigError(
          path,
          `${where}: cannot set mirror-by-digest-only for the registry (${JSON.stringify(prefix)}) and pull-from-mirror for a mirror (${JSON.stringify(mloc)}) at the same time`,
        );
      }
      const mirror: MirrorEntry = { location: mloc, insecure: m.insecure ?? false };
      if (mode) mirror.pullFromMirror = mode;
      mirrors.push(mirror);
    }
    // Within one file the first entry for a prefix wins, as in Podman.
    if (seen.has(prefix)) continue;
    seen.add(prefix);
    registries.push({
      prefix,
      location,
      insecure: r.insecure ?? false,
      blocked: r.blocked ?? false,
      mirrors,
      mirrorByDigestOnly,
    });
  }
  checkConflicts(path, registries);

  let search: string[] | undefined;
  if (doc['unqualified-search-registries'] !== undefined) {
    search = doc['unqualified-search-registries'].map((s, i) => {
      const reg = parseLocation(path, `unqualified-search-registries[${i}]`, s);
      if (!HOST_PORT.test(reg)) {
        throw new RegistriesConfigError(path, `unqualified-search-registries[${i}]: ${JSON.stringify(s)} is not a host[:port]`);
      }
      return reg;
    });
  }
  const mode = doc['short-name-mode'] || undefined;
  return { path, search, mode, registries, aliases: checkAliases(path, doc.aliases) };
}

/** One registry location listed twice must agree on whether it is insecure or blocked. */
function checkConflicts(file: string, registries: RegistryEntry[]): void {
  const byLocation = new Map<string, RegistryEntry>();
  for (const r of registries) {
    const key = r.location || r.prefix;
    const other = byLocation.get(key);
    if (!other) {
      byLocation.set(key, r);
      continue;
    }
    for (const field of ['insecure', 'blocked'] as const) {
      if (other[field] !== r[field]) {
        throw new RegistriesConfigError(file, `registry ${JSON.stringify(key)} is defined multiple times with conflicting '${field}' setting`);
      }
    }
  }
}

function readAliasFile(path: string): Record<string, string> | undefined {
  const text = readText(path, false);
  if (text === undefined) return undefined;
  const doc = validate(path, fileSchemas().AliasFileSchema, parseTomlFile(path, text));
  return checkAliases(path, doc.aliases);
}

/** *.conf files directly in `dir`, in lexical order; a missing directory has none. */
function dropInFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw new RegistriesConfigError(dir, `cannot read drop-in directory: ${(e as Error).message}`);
  }
  return names
    .filter((n) => n.endsWith('.conf'))
    .sort()
    .map((n) => join(dir, n))
    .filter((p) => {
      try {
        return statSync(p).isFile(); // follows symlinks; sub-directories are ignored
      } catch {
        return false;
      }
    });
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------
// Loading everything

/**
 * The effective configuration. The main file is $CONTAINERS_REGISTRIES_CONF if
 * set (it must exist), else the user's registries.conf if it exists, else
 * /etc/containers/registries.conf. Drop-ins follow in lexical order: only the
 * user's registries.conf.d when the user's registries.conf was chosen,
 * otherwise the system registries.conf.d and then the user's. Aliases recorded
 * at prompts (short-name-aliases.conf in the cache home) take precedence last.
 */
export function loadRegistriesConfig(opts: LoadOptions = {}): RegistriesConfig {
  const env = opts.env ?? process.env;
  const p = paths(opts);
  const cacheFile = opts.cacheFile ?? (opts.env ? '' : join(sessionDir(), 'registries-conf.cache.json'));
  const cache = new ParseCache(cacheFile || undefined);
  const required = (path: string) => cache.get(path, (f) => readRegistriesFile(f, true));
  const optional = (path: string) => cache.get(path, (f) => readRegistriesFile(f, false));

  let main: ParsedFile | undefined;
  let dirs: string[];
  if (env.CONTAINERS_REGISTRIES_CONF) {
    main = required(env.CONTAINERS_REGISTRIES_CONF);
    dirs = [p.systemDropIns, p.userDropIns];
  } else if (exists(p.userConf)) {
    main = required(p.userConf);
    dirs = [p.userDropIns];
  } else {
    main = optional(p.systemConf);
    dirs = [p.systemDropIns, p.userDropIns];
  }

  const sources: string[] = [];
  let search: string[] = [];
  let searchOrigin: string | undefined;
  let mode: ShortNameMode | undefined;
  const registries = new Map<string, RegistryEntry>();
  const aliases: Record<string, string> = {};

  const apply = (f: ParsedFile, isMain: boolean) => {
    sources.push(f.path);
    if (isMain) searchOrigin = f.path;
    if (f.search !== undefined) {
      search = f.search;
      searchOrigin = f.path;
    }
    if (f.mode !== undefined) mode = f.mode;
    // A drop-in's [[registry]] replaces an earlier one with the same prefix as a whole.
    for (const r of f.registries) registries.set(r.prefix, r);
    mergeAliases(aliases, f.aliases);
  };

  if (main) apply(main, true);
  for (const dir of dirs) {
    for (const file of dropInFiles(dir)) {
      const f = optional(file);
      if (f) apply(f, false); // a file removed since the listing is fine
    }
  }
  const recorded = cache.get(p.aliasCache, readAliasFile);
  if (recorded) {
    sources.push(p.aliasCache);
    mergeAliases(aliases, recorded);
  }
  cache.save();

  return {
    unqualifiedSearchRegistries: search,
    // Podman's default for an unset mode is permissive; with no configuration
    // at all we are stricter, like the registries.conf that distributions ship.
    shortNameMode: mode ?? (sources.length > 0 ? 'permissive' : 'enforcing'),
    registries: [...registries.keys()].sort().map((k) => registries.get(k)!),
    aliases,
    sources,
    searchRegistriesOrigin: searchOrigin,
  };
}

function mergeAliases(into: Record<string, string>, from: Record<string, string>): void {
  for (const [name, value] of Object.entries(from)) {
    if (value === '') delete into[name];
    else into[name] = value;
  }
}

// ---------------------------------------------------------------------------
// Registry lookup and pull sources

/**
 * How many leading characters of `ref` the prefix covers, or -1. A prefix must
 * be followed by a separator: '/' always, ':' or '@' only once the prefix is
 * past the host (a ':' right after a host would be a port of another host).
 */
function matchLength(ref: string, prefix: string): number {
  if (prefix.startsWith('*.')) {
    const slash = ref.indexOf('/');
    const host = slash < 0 ? ref : ref.slice(0, slash);
    const hostname = host.replace(/:[0-9]+$/, '');
    const suffix = prefix.slice(1); // '.example.com'
    return hostname.length > suffix.length && hostname.endsWith(suffix) ? hostname.length : -1;
  }
  if (ref === prefix) return prefix.length;
  if (!ref.startsWith(prefix)) return -1;
  const next = ref[prefix.length];
  if (next === '/') return prefix.length;
  if ((next === ':' || next === '@') && prefix.includes('/')) return prefix.length;
  return -1;
}

/** Which registry entry governs a fully qualified reference (longest matching prefix), or undefined. */
export function findRegistry(cfg: RegistriesConfig, ref: string): RegistryEntry | undefined {
  let best: RegistryEntry | undefined;
  for (const r of cfg.registries) {
    if (matchLength(ref, r.prefix) >= 0 && (!best || r.prefix.length > best.prefix.length)) best = r;
  }
  return best;
}

export interface PullSource {
  /** full reference to fetch */
  reference: string;
  registry: string;
  repository: string;
  insecure: boolean;
  mirror: boolean;
}

/**
 * The places to pull a qualified image from, in order: the usable mirrors,
 * then the registry itself (prefix rewritten to `location`). The image keeps
 * its logical name whatever source it comes from.
 */
export function pullSources(cfg: RegistriesConfig, ref: ImageReference): PullSource[] {
  const name = `${ref.registry}/${ref.repository}`;
  const full = formatReference(ref);
  const entry = findRegistry(cfg, name);
  if (!entry) {
    return [{ reference: full, registry: ref.registry, repository: ref.repository, insecure: false, mirror: false }];
  }
  if (entry.blocked) throw new BlockedRegistryError(entry.prefix);

  const cut = matchLength(full, entry.prefix);
  const rest = full.slice(cut);
  const rewrite = (location: string, insecure: boolean, mirror: boolean): PullSource => {
    // A wildcard entry without location only applies settings: the name is used as is.
    const text = location === '' ? full : location + rest;
    let parsed: ImageReference;
    try {
      parsed = parseReference(text);
    } catch (e) {
      throw new Error(`rewriting reference ${full} with registries.conf location ${JSON.stringify(location)}: ${(e as Error).message}`);
    }
    if (!parsed.qualified) {
      throw new Error(`rewriting reference ${full} with registries.conf location ${JSON.stringify(location)}: ${text} does not name a registry`);
    }
    return { reference: formatReference(parsed), registry: parsed.registry, repository: parsed.repository, insecure, mirror };
  };

  const digested = ref.digest !== undefined;
  const mirrors = entry.mirrors.filter((m) => {
    if (entry.mirrorByDigestOnly) return digested;
    if (m.pullFromMirror === 'digest-only') return digested;
    if (m.pullFromMirror === 'tag-only') return !digested;
    return true;
  });
  return [
    ...mirrors.map((m) => rewrite(m.location, m.insecure, true)),
    rewrite(entry.location, entry.insecure, false),
  ];
}

/** Whether a registry (host[:port]) is marked insecure by a [[registry]] entry. */
export function isInsecure(cfg: RegistriesConfig, registry: string): boolean {
  return findRegistry(cfg, registry)?.insecure ?? false;
}

// ---------------------------------------------------------------------------
// Short names

export interface ShortNameResolution {
  /** full names to try, in order */
  candidates: string[];
  /** the alias target, when an alias decided */
  alias?: string;
  /**
   * More than one candidate in enforcing or permissive mode: the caller should
   * let the user choose on a TTY (and record the choice with recordAlias);
   * without a TTY use unpromptedCandidates().
   */
  needsPrompt: boolean;
  mode: ShortNameMode;
  /** the name without tag or digest (the alias key); absent for a qualified name */
  shortName?: string;
}

/**
 * Podman's short-name resolution. A qualified name is used as is. Otherwise
 * the name without tag/digest is looked up, exactly as written, in the aliases
 * ("alpine" and "library/alpine" are different keys); an alias wins. Otherwise
 * each unqualified-search registry + name is a candidate (docker.io adds
 * library/ to single-component names).
 */
export function resolveShortName(cfg: RegistriesConfig, name: string): ShortNameResolution {
  const ref = parseReference(name); // throws InvalidReferenceError on a bad name
  const mode = cfg.shortNameMode;
  if (ref.qualified) return { candidates: [formatReference(ref)], needsPrompt: false, mode };

  const shortName = stripTagAndDigest(name);
  const withTag = (base: string) => {
    const r = parseReference(base);
    return formatReference({ ...r, tag: ref.tag, digest: ref.digest });
  };
  if (Object.hasOwn(cfg.aliases, shortName)) {
    const alias = cfg.aliases[shortName];
    return { candidates: [withTag(alias)], alias, needsPrompt: false, mode, shortName };
  }
  if (cfg.unqualifiedSearchRegistries.length === 0) {
    const where = cfg.searchRegistriesOrigin
      ? `no unqualified-search registries are defined in ${JSON.stringify(cfg.searchRegistriesOrigin)}`
      : 'no containers-registries.conf(5) was found';
    throw new ShortNameError(`short-name ${JSON.stringify(name)} did not resolve to an alias and ${where}`);
  }
  const candidates = cfg.unqualifiedSearchRegistries.map((reg) => withTag(`${reg}/${shortName}`));
  const needsPrompt = mode !== 'disabled' && candidates.length > 1;
  return { candidates, needsPrompt, mode, shortName };
}

/** The candidates to try when the user cannot be asked: enforcing mode refuses to guess. */
export function unpromptedCandidates(res: ShortNameResolution): string[] {
  if (res.needsPrompt && res.mode === 'enforcing') {
    throw new ShortNameError('short-name resolution enforced but cannot prompt without a TTY');
  }
  return res.candidates;
}

/**
 * Records an alias chosen at a prompt in the user's short-name-aliases.conf,
 * atomically (write to a temporary file, then rename). Tags and digests are
 * stripped from both sides, so a candidate can be passed as is.
 */
export function recordAlias(name: string, value: string, opts: { env?: NodeJS.ProcessEnv; home?: string } = {}): void {
  const key = stripTagAndDigest(name);
  const bad = shortNameProblem(key);
  if (bad) throw new ShortNameError(bad);
  const target = aliasValue(stripTagAndDigest(value));
  if (target.problem) throw new ShortNameError(target.problem);

  const path = shortNameAliasesPath(opts);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const text = readText(path, false);
  const doc: Record<string, unknown> = text === undefined ? {} : parseTomlFile(path, text);
  const current = validate(path, fileSchemas().AliasFileSchema, doc).aliases ?? {};
  doc.aliases = { ...current, [key]: target.value! };

  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, stringifyToml(doc) + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
