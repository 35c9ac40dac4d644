// The events log, like Podman's file events backend: one JSON object per
// line in $runroot/events/events.log, with the field names Podman writes
// there.  Any number of selkie processes append to it: each event is one
// write(2) of one line on an O_APPEND descriptor, under a shared lock that
// only rotation takes exclusively (so no append lands in a file that rotation
// is about to replace).  Recording an event never fails the operation it
// describes.
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerRecord } from './containers';
import { withLock } from './lock';
import { formatRfc3339Nano, nowNs, parseTimestamp } from './nanotime';

export type EventType = 'container' | 'image' | 'volume' | 'network' | 'pod' | 'system' | 'secret' | 'machine';

export interface EventInput {
  type: EventType;
  /** Podman's "status": create, start, died, remove, pull, tag, ... */
  status: string;
  id?: string;
  name?: string;
  image?: string;
  network?: string;
  /** container events: the container's labels */
  attributes?: Record<string, string>;
  /** died (and later events of the container): its exit code */
  containerExitCode?: number;
  healthStatus?: string;
  error?: string;
  podId?: string;
}

export interface SelkieEvent extends EventInput {
  /** nanoseconds since the epoch */
  time: bigint;
}

/** Podman's default events_logfile_max_size. */
export const EVENTS_MAX_SIZE = 1024 * 1024;
/** One line stays below a page, so that one write(2) carries it whole. */
const LINE_MAX = 4095;

export function eventsLogPath(runRoot: string): string {
  return join(runRoot, 'events', 'events.log');
}

function lockPath(runRoot: string): string {
  return join(runRoot, 'events', 'events.lock');
}

/** The line for the file, in the order Podman's encoder writes the fields. */
export function encodeEvent(ev: SelkieEvent): string {
  const o: Record<string, unknown> = {};
  if (ev.containerExitCode !== undefined) o.ContainerExitCode = ev.containerExitCode;
  if (ev.id) o.ID = ev.id;
  if (ev.image) o.Image = ev.image;
  if (ev.name) o.Name = ev.name;
  if (ev.network) o.network = ev.network;
  o.Status = ev.status;
  o.Time = formatRfc3339Nano(ev.time);
  o.Type = ev.type;
  if (ev.healthStatus) o.health_status = ev.healthStatus;
  if (ev.error) o.error = ev.error;
  if (ev.podId) o.PodID = ev.podId;
  o.Attributes = ev.attributes ?? null;
  return JSON.stringify(o);
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** An event from one line of the file (ours or Podman's); undefined for anything else. */
export function decodeEvent(line: string): SelkieEvent | undefined {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!o || typeof o !== 'object') return undefined;
  const time = typeof o.Time === 'string' ? parseTimestamp(o.Time, true) : undefined;
  if (!time || typeof o.Type !== 'string' || typeof o.Status !== 'string') return undefined;
  const attrs = o.Attributes && typeof o.Attributes === 'object' ? (o.Attributes as Record<string, string>) : undefined;
  return {
    type: o.Type as EventType,
    status: o.Status,
    time: time.ns,
    id: str(o.ID),
    name: str(o.Name),
    image: str(o.Image),
    network: str(o.network),
    attributes: attrs,
    containerExitCode: typeof o.ContainerExitCode === 'number' ? o.ContainerExitCode : undefined,
    healthStatus: str(o.health_status),
    error: str(o.error),
    podId: str(o.PodID),
  };
}

/** The line to append, made to fit one write: attributes are dropped before the event is. */
function lineFor(ev: SelkieEvent): string | undefined {
  let line = encodeEvent(ev) + '\n';
  if (Buffer.byteLength(line) > LINE_MAX && ev.attributes) line = encodeEvent({ ...ev, attributes: {} }) + '\n';
  return Buffer.byteLength(line) > LINE_MAX ? undefined : line;
}

function appendLine(path: string, line: string): number {
  const fd = openSync(path, 'a', 0o600);
  try {
    writeSync(fd, line);
    return fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
}

/**
 * Keeps the newer half of a log that grew past maxSize (cut at a line), and
 * says so with a system event, as Podman does.  Replaced by rename, so a
 * reader that follows sees a new inode.
 */
export function rotateEvents(runRoot: string, maxSize = EVENTS_MAX_SIZE): void {
  const path = eventsLogPath(runRoot);
  withLock(lockPath(runRoot), () => {
    const data = readFileSync(path);
    if (data.length <= maxSize) return; // another process rotated first
    const cut = data.indexOf(0x0a, data.length - Math.floor(maxSize / 2));
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, data.subarray(cut < 0 ? data.length : cut + 1), { mode: 0o600 });
    renameSync(tmp, path);
    appendLine(path, lineFor({ type: 'system', status: 'log-rotation', name: path, time: nowNs() })!);
  });
}

export type EventsRoot = string | { paths: { runRoot: string } };

/** Appends an event (time: now).  Never throws. */
const ensured = new Set<string>();

export function recordEvent(where: EventsRoot, ev: EventInput, opts: { maxSize?: number } = {}): void {
  try {
    const runRoot = typeof where === 'string' ? where : where.paths.runRoot;
    const line = lineFor({ ...ev, time: nowNs() });
    if (!line) return;
    if (!ensured.has(runRoot)) {
      mkdirSync(join(runRoot, 'events'), { recursive: true, mode: 0o700 });
      ensured.add(runRoot); // once per process: run --rm writes four events
    }
    const size = withLock(lockPath(runRoot), () => appendLine(eventsLogPath(runRoot), line), false);
    if (size > (opts.maxSize ?? EVENTS_MAX_SIZE)) rotateEvents(runRoot, opts.maxSize);
  } catch {
    /* an event that cannot be written is lost, not the operation's failure */
  }
}

/** A container event with the fields Podman gives it: image name, container name, labels. */
export function recordContainerEvent(where: EventsRoot, status: string, rec: ContainerRecord, extra: Partial<EventInput> = {}): void {
  recordEvent(where, { type: 'container', status, id: rec.id, name: rec.name, image: rec.image.name, attributes: { ...rec.config.labels }, ...extra });
}

/** An image event: the image's ID and the name (or path) the operation used. */
export function recordImageEvent(where: EventsRoot, status: string, id: string | undefined, name?: string): void {
  recordEvent(where, { type: 'image', status, id, name });
}
