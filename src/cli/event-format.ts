// How `events` prints an event, as Podman 5 does:
//  - by default one human line (libpod's Event.ToHumanReadable), with the
//    time as Go prints a time.Time in the local zone:
//      2024-01-02 15:04:05.123456789 +0000 UTC container create 3f2a... (image=..., name=..., k=v)
//  - --format json: one JSON object per line, the field names and order of
//    podman's events command (time in seconds, timeNano in nanoseconds);
//  - --format TEMPLATE: a Go template over the same fields.
import type { SelkieEvent } from '../state/events';
import { formatGoTime } from '../state/nanotime';

/** containers/storage's stringid.TruncateID: 12 characters, after any "algo:". */
export function truncateId(id: string): string {
  const colon = id.indexOf(':');
  return (colon >= 0 ? id.slice(colon + 1) : id).slice(0, 12);
}

export function humanEvent(e: SelkieEvent, truncate = false): string {
  const time = formatGoTime(e.time);
  const id = truncate && e.id ? truncateId(e.id) : (e.id ?? '');
  switch (e.type) {
    case 'container':
    case 'pod': {
      let s = `${time} ${e.type} ${e.status} ${id} (image=${e.image ?? ''}, name=${e.name ?? ''}`;
      if (e.podId) s += `, pod_id=${e.podId}`;
      if (e.healthStatus) s += `, health_status=${e.healthStatus}`;
      // Go's map order is random; sorted is the stable choice among its orders
      for (const k of Object.keys(e.attributes ?? {}).sort()) s += `, ${k}=${e.attributes![k]}`;
      return s + ')';
    }
    case 'network':
      return `${time} ${e.type} ${e.status} ${id} (container=${id}, name=${e.network ?? ''})`;
    case 'image':
      return `${time} ${e.type} ${e.status} ${id} ${e.name ?? ''}${e.error ? ` ${e.error}` : ''}`;
    case 'system':
      return e.name ? `${time} ${e.type} ${e.status} ${e.name}` : `${time} ${e.type} ${e.status}`;
    case 'secret':
      return `${time} ${e.type} ${e.status} ${id}`;
    default:
      return `${time} ${e.type} ${e.status} ${e.name ?? ''}`;
  }
}

/** What a --format template sees: the fields of podman's events command. */
export function templateEvent(e: SelkieEvent) {
  return {
    ContainerExitCode: e.containerExitCode ?? null,
    ID: e.id ?? '',
    Image: e.image ?? '',
    Name: e.name ?? '',
    Network: e.network ?? '',
    Status: e.status,
    Time: Number(e.time / 1_000_000_000n),
    TimeNano: e.time,
    Type: e.type,
    HealthStatus: e.healthStatus ?? '',
    Error: e.error ?? '',
    PodID: e.podId ?? '',
    Attributes: e.attributes ?? null,
  };
}

/** json.Marshal's escapes that JSON.stringify does not make (HTML characters, line terminators). */
function goJsonEscapes(json: string): string {
  return json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** One line of `--format json` (timeNano does not fit a double: written from the bigint). */
export function jsonEvent(e: SelkieEvent): string {
  const parts: string[] = [];
  const add = (k: string, v: string) => parts.push(`${JSON.stringify(k)}:${v}`);
  const addStr = (k: string, v: string | undefined) => {
    if (v) add(k, JSON.stringify(v));
  };
  if (e.containerExitCode !== undefined) add('ContainerExitCode', String(e.containerExitCode));
  addStr('ID', e.id);
  addStr('Image', e.image);
  addStr('Name', e.name);
  addStr('network', e.network);
  add('Status', JSON.stringify(e.status));
  const secs = e.time / 1_000_000_000n;
  if (secs !== 0n) add('time', secs.toString());
  if (e.time !== 0n) add('timeNano', e.time.toString());
  add('Type', JSON.stringify(e.type));
  addStr('health_status', e.healthStatus);
  addStr('Error', e.error);
  addStr('PodID', e.podId);
  // Go writes map keys sorted
  add('Attributes', JSON.stringify(e.attributes ? Object.fromEntries(Object.entries(e.attributes).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : null));
  return goJsonEscapes(`{${parts.join(',')}}`);
}
