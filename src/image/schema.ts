// Schemas of the JSON documents that come from outside (registries, archives,
// layouts). Unknown fields pass through untouched, so a document re-serialized
// from the parsed value loses nothing; the fields we act on are checked strictly.
import * as z from 'zod/mini';
import '../zod';
import { MAX_DOCUMENT_BYTES, MEDIA } from './types';

export { MAX_DOCUMENT_BYTES };

/** The media types (one list for the whole code base, in types.ts). */
export const MediaTypes = MEDIA;

export const DigestSchema = z.string().check(z.regex(/^sha256:[a-f0-9]{64}$/, 'expected a sha256 digest (sha256:<64 lowercase hex digits>)'));
export type Digest = z.infer<typeof DigestSchema>;

const SizeSchema = z.int().check(z.nonnegative());
const MediaTypeSchema = z.string().check(z.minLength(1));
const AnnotationsSchema = z.record(z.string(), z.string());
/** Docker writes `null` for empty lists and maps; OCI omits them. */
const nullish = <T extends z.ZodMiniType>(schema: T) => z.nullish(schema);

export const PlatformSchema = z.looseObject({
  architecture: z.string(),
  os: z.string(),
  'os.version': z.optional(z.string()),
  'os.features': z.optional(z.array(z.string())),
  variant: z.optional(z.string()),
});
export type Platform = z.infer<typeof PlatformSchema>;

export const DescriptorSchema = z.looseObject({
  mediaType: MediaTypeSchema,
  digest: DigestSchema,
  size: SizeSchema,
  urls: z.optional(z.array(z.string())),
  annotations: z.optional(AnnotationsSchema),
  platform: z.optional(PlatformSchema),
  artifactType: z.optional(MediaTypeSchema),
});
export type Descriptor = z.infer<typeof DescriptorSchema>;

/** The `config` member of an image config: how to run a container from it. */
export const ContainerConfigSchema = z.looseObject({
  User: nullish(z.string()),
  ExposedPorts: nullish(z.record(z.string(), z.unknown())),
  Env: nullish(z.array(z.string())),
  Entrypoint: nullish(z.array(z.string())),
  Cmd: nullish(z.array(z.string())),
  Volumes: nullish(z.record(z.string(), z.unknown())),
  WorkingDir: nullish(z.string()),
  Labels: nullish(z.record(z.string(), z.string())),
  StopSignal: nullish(z.string()),
  Healthcheck: nullish(
    z.looseObject({
      Test: nullish(z.array(z.string())),
      Interval: nullish(z.number()),
      Timeout: nullish(z.number()),
      StartPeriod: nullish(z.number()),
      Retries: nullish(z.number()),
    }),
  ),
});
export type ContainerConfig = z.infer<typeof ContainerConfigSchema>;

export const HistorySchema = z.looseObject({
  created: z.optional(z.string()),
  created_by: z.optional(z.string()),
  author: z.optional(z.string()),
  comment: z.optional(z.string()),
  empty_layer: z.optional(z.boolean()),
});
export type History = z.infer<typeof HistorySchema>;

/** OCI image config and Docker's image config (a superset of the same shape). */
export const ImageConfigSchema = z.looseObject({
  architecture: z.string(),
  os: z.string(),
  variant: z.optional(z.string()),
  created: nullish(z.string()),
  author: nullish(z.string()),
  config: nullish(ContainerConfigSchema),
  rootfs: z.looseObject({
    type: z.literal('layers'),
    diff_ids: z.array(DigestSchema),
  }),
  history: nullish(z.array(HistorySchema)),
});
export type ImageConfig = z.infer<typeof ImageConfigSchema>;

export const OciManifestSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.optional(MediaTypeSchema),
  artifactType: z.optional(MediaTypeSchema),
  config: DescriptorSchema,
  layers: z.array(DescriptorSchema),
  subject: z.optional(DescriptorSchema),
  annotations: z.optional(AnnotationsSchema),
});
export type OciManifest = z.infer<typeof OciManifestSchema>;

export const OciIndexSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.optional(MediaTypeSchema),
  artifactType: z.optional(MediaTypeSchema),
  manifests: z.array(DescriptorSchema),
  subject: z.optional(DescriptorSchema),
  annotations: z.optional(AnnotationsSchema),
});
export type OciIndex = z.infer<typeof OciIndexSchema>;

export const DockerManifestSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.literal(MediaTypes.dockerManifest),
  config: DescriptorSchema,
  layers: z.array(DescriptorSchema),
});
export type DockerManifest = z.infer<typeof DockerManifestSchema>;

export const DockerManifestListSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.literal(MediaTypes.dockerManifestList),
  manifests: z.array(z.extend(DescriptorSchema, { platform: PlatformSchema })),
});
export type DockerManifestList = z.infer<typeof DockerManifestListSchema>;

/** `manifest.json` of a docker-archive (`docker save`): one entry per image. */
export const DockerArchiveManifestSchema = z.array(
  z.looseObject({
    Config: z.string().check(z.minLength(1)),
    RepoTags: nullish(z.array(z.string())),
    Layers: z.array(z.string().check(z.minLength(1))),
  }),
);
export type DockerArchiveManifest = z.infer<typeof DockerArchiveManifestSchema>;

/** The `oci-layout` marker file of an OCI image layout. */
export const OciLayoutSchema = z.looseObject({
  imageLayoutVersion: z.string(),
});
export type OciLayout = z.infer<typeof OciLayoutSchema>;

export class DocumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DocumentError';
  }
}

function issuePath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(document)' : out;
}

/**
 * Parses and validates an external JSON document. `what` names it in errors:
 * `invalid image config: rootfs.diff_ids[0]: expected a sha256 digest ...`.
 */
export function parseJson<T>(schema: z.ZodMiniType<T>, bytes: Buffer | string, what: string): T {
  const size = typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.length;
  if (size > MAX_DOCUMENT_BYTES) {
    throw new DocumentError(`invalid ${what}: ${size} bytes is over the ${MAX_DOCUMENT_BYTES / 1024 / 1024} MiB limit for a JSON document`);
  }
  let value: unknown;
  try {
    value = JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8'));
  } catch (err) {
    throw new DocumentError(`invalid ${what}: malformed JSON: ${(err as Error).message}`);
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const [first, ...more] = result.error.issues;
    const extra = more.length > 0 ? ` (and ${more.length} more problem${more.length > 1 ? 's' : ''})` : '';
    throw new DocumentError(`invalid ${what}: ${issuePath(first.path)}: ${first.message}${extra}`);
  }
  return result.data;
}
