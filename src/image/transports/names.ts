// Image names with a transport prefix, as containers-transports(5) writes them
// (`oci:DIR:TAG`, `docker-archive:FILE`, `docker://REF`, ...), and bare names,
// which mean a registry image the way Podman reads them.
import { parseReference } from '../reference';

export type TransportRef =
  | { transport: 'docker'; reference: string } // docker://REF or a bare REF
  | { transport: 'oci'; path: string; reference?: string } // oci:PATH[:REF]   (REF = a tag or full name)
  | { transport: 'oci-archive'; path: string; reference?: string }
  | { transport: 'docker-archive'; path: string; reference?: string } // docker-archive:PATH[:REF or @N index]
  | { transport: 'dir'; path: string }
  | { transport: 'containers-storage'; reference: string }; // containers-storage:REF (our own local store)

export class TransportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransportError';
  }
}

/** Transports other tools know but we do not handle: named so the error says "not supported", not "unknown". */
const UNSUPPORTED = new Set(['docker-daemon', 'ostree', 'sif', 'tarball']);
const KNOWN = ['docker', 'oci', 'oci-archive', 'docker-archive', 'dir', 'containers-storage'];
const TRANSPORT_NAME = /^([a-z][a-z0-9-]*):/;
const SOURCE_INDEX = /^@(\d+)$/;

/** The zero-based index of an `@N` reference (docker-archive/oci/oci-archive), else undefined. */
export function sourceIndex(reference: string | undefined): number | undefined {
  const m = reference === undefined ? null : SOURCE_INDEX.exec(reference);
  return m ? Number(m[1]) : undefined;
}

export function parseTransportRef(text: string): TransportRef {
  if (text === '') throw new TransportError('invalid image name: it is empty');
  const m = TRANSPORT_NAME.exec(text);
  const name = m?.[1];
  const rest = m ? text.slice(m[0].length) : text;

  switch (name) {
    case 'docker':
      // Like Podman: `docker:latest` is the image "docker:latest"; only `docker://` is the transport.
      if (!rest.startsWith('//')) return dockerRef(text);
      if (rest.length === 2) throw new TransportError(`invalid image name "${text}": no image reference after docker://`);
      return dockerRef(rest.slice(2));
    case 'oci':
    case 'oci-archive':
      return { transport: name, ...pathAndReference(name, rest, text, false) };
    case 'docker-archive':
      return { transport: name, ...pathAndReference(name, rest, text, true) };
    case 'dir':
      // The whole rest is the path: a directory name may contain ':'.
      if (rest === '') throw new TransportError(`invalid image name "${text}": the dir: transport needs a directory path`);
      return { transport: 'dir', path: rest };
    case 'containers-storage':
      if (rest === '') {
        throw new TransportError(`invalid image name "${text}": containers-storage: needs an image name or ID`);
      }
      return { transport: 'containers-storage', reference: rest };
  }

  // Like Podman: a transport it knows is never read as an image name, even when it would parse as one.
  if (name !== undefined && UNSUPPORTED.has(name)) {
    throw new TransportError(`invalid image name "${text}": the ${name} transport is not supported`);
  }
  // Not a transport we know: a registry name if it is one (`busybox:latest`, `localhost:5000/x`) ...
  try {
    return dockerRef(text);
  } catch (err) {
    // ... else, when it starts like `xyz:`, say which transport was not understood.
    if (name !== undefined) {
      throw new TransportError(
        `invalid image name "${text}": unknown transport "${name}" (known: ${KNOWN.join(', ')})`,
      );
    }
    throw err;
  }
}

function dockerRef(reference: string): TransportRef {
  // Validates; the reference stays as written so short-name resolution can still happen later.
  parseReference(reference);
  return { transport: 'docker', reference };
}

/** `PATH[:REF]`: the path ends at the first ':'; everything after it is the reference (which may hold ':'). */
function pathAndReference(
  transport: string,
  rest: string,
  text: string,
  dockerReference: boolean,
): { path: string; reference?: string } {
  const colon = rest.indexOf(':');
  const path = colon < 0 ? rest : rest.slice(0, colon);
  const reference = colon < 0 ? undefined : rest.slice(colon + 1);
  if (path === '') throw new TransportError(`invalid image name "${text}": the ${transport}: transport needs a path`);
  if (reference === undefined) return { path };
  if (reference === '') throw new TransportError(`invalid image name "${text}": empty reference after the path`);
  if (reference.startsWith('@')) {
    if (sourceIndex(reference) === undefined) {
      throw new TransportError(`invalid image name "${text}": "${reference}" is not a source index (@0, @1, ...)`);
    }
    return { path, reference };
  }
  if (dockerReference) {
    // docker-archive names are Docker names with a tag; a digest cannot be stored in RepoTags.
    try {
      parseReference(reference);
    } catch (err) {
      throw new TransportError(`invalid image name "${text}": ${(err as Error).message}`);
    }
    if (reference.includes('@')) {
      throw new TransportError(`invalid image name "${text}": a docker-archive reference cannot contain a digest`);
    }
  } else if (!/^[A-Za-z0-9._:@/+-]+$/.test(reference)) {
    // ref.name annotations: letters, digits and the separators of names and tags.
    throw new TransportError(`invalid image name "${text}": invalid reference "${reference}" for ${transport}:`);
  }
  return { path, reference };
}
