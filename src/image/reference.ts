// Image references (`busybox`, `localhost/mini:1`, `host:5000/a/b:t@sha256:...`)
// parsed by the distribution reference grammar and normalized the way Docker
// and Podman do, plus Podman's rules for matching short names against
// locally stored full names.

export interface ImageReference {
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
  /** did the user name a registry? */
  qualified: boolean;
}

export class InvalidReferenceError extends Error {
  constructor(readonly input: string, detail: string) {
    super(`invalid reference format: ${detail}`);
    this.name = 'InvalidReferenceError';
  }
}

export const DEFAULT_REGISTRY = 'docker.io';
const LEGACY_DEFAULT_REGISTRY = 'index.docker.io';
const OFFICIAL_NAMESPACE = 'library';
const LOCAL_REGISTRY = 'localhost';
const NAME_MAX = 255;

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(
  `^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`,
);
const TAG = /^\w[\w.-]{0,127}$/;
const DIGEST = /^([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*):([0-9a-fA-F]{32,})$/;
const DIGEST_HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };
const IMAGE_ID = /^[a-f0-9]{64}$/;

/** A reference split into its parts as written, before Docker's normalization. */
interface RawReference {
  domain?: string;
  path: string;
  tag?: string;
  digest?: string;
}

function splitReference(text: string): RawReference {
  if (text === '') throw new InvalidReferenceError(text, 'repository name must have at least one component');
  // A bare 64-hex string is an image ID, never a name (Docker refuses it too).
  if (IMAGE_ID.test(text)) {
    throw new InvalidReferenceError(text, `invalid repository name (${text}), cannot specify 64-byte hexadecimal strings`);
  }
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    checkDigest(text, digest);
  }
  let tag: string | undefined;
  // A ':' after the last '/' starts the tag; one before it belongs to a registry port.
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) {
      throw new InvalidReferenceError(
        text,
        `invalid tag ${JSON.stringify(tag)} in ${JSON.stringify(text)} (a tag is 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-')`,
      );
    }
  }
  if (rest === '') throw new InvalidReferenceError(text, `missing repository name in ${JSON.stringify(text)}`);
  if (rest.length > NAME_MAX) {
    throw new InvalidReferenceError(text, `repository name must not be more than ${NAME_MAX} characters`);
  }
  let domain: string | undefined;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    // Docker's rule for telling a registry from the first path component.
    if (/[.:]/.test(first) || first === LOCAL_REGISTRY || first !== first.toLowerCase()) {
      domain = first;
      path = rest.slice(slash + 1);
      if (!DOMAIN.test(domain)) {
        throw new InvalidReferenceError(text, `invalid registry ${JSON.stringify(domain)} in ${JSON.stringify(text)}`);
      }
    }
  }
  checkPath(text, path);
  return { domain, path, tag, digest };
}

function checkDigest(text: string, digest: string): void {
  const m = DIGEST.exec(digest);
  const bad = (why: string) =>
    new InvalidReferenceError(text, `invalid digest ${JSON.stringify(digest)} in ${JSON.stringify(text)}: ${why}`);
  if (!m) throw bad('expected <algorithm>:<hex>, e.g. sha256:<64 hex digits>');
  const [, algorithm, hex] = m;
  const length = DIGEST_HEX_LENGTH[algorithm];
  if (length === undefined) throw bad(`unsupported digest algorithm ${algorithm}`);
  if (hex.length !== length || !/^[a-f0-9]+$/.test(hex)) {
    throw bad(`a ${algorithm} digest is ${length} lowercase hex digits`);
  }
}

function checkPath(text: string, path: string): void {
  const components = path.split('/');
  if (components.every((c) => PATH_COMPONENT.test(c))) return;
  if (components.every((c) => PATH_COMPONENT.test(c.toLowerCase()))) {
    throw new InvalidReferenceError(text, `repository name (${path}) must be lowercase`);
  }
  throw new InvalidReferenceError(
    text,
    `invalid repository name ${JSON.stringify(path)} in ${JSON.stringify(text)} (components are lowercase letters and digits, separated by '/' and joined by '.', '_', '__' or '-')`,
  );
}

function normalize(raw: RawReference): ImageReference {
  let registry = raw.domain ?? DEFAULT_REGISTRY;
  if (registry === LEGACY_DEFAULT_REGISTRY) registry = DEFAULT_REGISTRY;
  let repository = raw.path;
  if (registry === DEFAULT_REGISTRY && !repository.includes('/')) repository = `${OFFICIAL_NAMESPACE}/${repository}`;
  // Docker's default: a name without tag or digest means ':latest'.
  const tag = raw.tag ?? (raw.digest === undefined ? 'latest' : undefined);
  const ref: ImageReference = { registry, repository, qualified: raw.domain !== undefined };
  if (tag !== undefined) ref.tag = tag;
  if (raw.digest !== undefined) ref.digest = raw.digest;
  return ref;
}

export function parseReference(text: string): ImageReference {
  return normalize(splitReference(text));
}

export function formatReference(r: ImageReference): string {
  let s = `${r.registry}/${r.repository}`;
  if (r.tag !== undefined) s += `:${r.tag}`;
  if (r.digest !== undefined) s += `@${r.digest}`;
  return s;
}

/**
 * Whether a locally stored full name (e.g. 'localhost/mini:1', 'docker.io/library/busybox:latest')
 * is what the user meant by `query` (e.g. 'mini:1', 'mini' (=> tag latest), 'localhost/mini',
 * 'busybox', 'library/busybox'), following Podman's local lookup of short names: an unqualified
 * query matches any stored name whose repository path ends with the query's path on a '/'
 * boundary and whose tag matches.
 */
export function matchesStoredName(stored: string, query: string): boolean {
  let s: ImageReference;
  let q: RawReference;
  try {
    s = parseReference(stored);
    q = splitReference(query);
  } catch {
    return false;
  }
  // A digest is the whole truth: Podman drops the tag of a tagged+digested query.
  if (q.digest !== undefined) {
    if (s.digest !== q.digest) return false;
  } else if (s.tag !== (q.tag ?? 'latest')) {
    return false;
  }
  if (q.domain !== undefined) {
    const n = normalize(q);
    return n.registry === s.registry && n.repository === s.repository;
  }
  return s.repository === q.path || s.repository.endsWith(`/${q.path}`);
}

/**
 * The name under which an unqualified name given to `import`/`tag`/`load` is stored:
 * 'mini:1' -> 'localhost/mini:1' (Podman stores unqualified local names under localhost/).
 */
export function localName(text: string): string {
  const raw = splitReference(text);
  if (raw.domain !== undefined) return formatReference(normalize(raw));
  return formatReference(normalize({ ...raw, domain: LOCAL_REGISTRY }));
}
