// Human-readable sizes and durations, matching docker/go-units as Podman prints them.

const DECIMAL_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];

/** Go's %.<prec>g: shortest digits up to prec, exponent form when exp < -4 or exp >= prec. */
export function formatG(x: number, prec: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'NaN' : x > 0 ? '+Inf' : '-Inf';
  if (x === 0) return '0';
  const p = Math.max(prec, 1);
  const [mant, expStr] = x.toExponential(p - 1).split('e');
  const exp = Number(expStr);
  if (exp < -4 || exp >= p) {
    const m = mant.includes('.') ? mant.replace(/0+$/, '').replace(/\.$/, '') : mant;
    const e = Math.abs(exp);
    return `${m}e${exp < 0 ? '-' : '+'}${e < 10 ? '0' : ''}${e}`;
  }
  const fixed = x.toFixed(Math.max(0, p - 1 - exp));
  return fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
}

/** go-units HumanSizeWithPrecision(bytes, 3). */
export function humanSize(bytes: number): string {
  let size = bytes;
  let i = 0;
  while (size >= 1000 && i < DECIMAL_UNITS.length - 1) {
    size /= 1000;
    i++;
  }
  return `${formatG(size, 3)} ${DECIMAL_UNITS[i]}`;
}

/** go-units HumanDuration (current version: hours rounded, weeks below 2 months). */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const exactHours = ms / 3_600_000;
  const hours = Math.trunc(exactHours + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(Math.trunc(exactHours) / 24 / 365)} years`;
}

export function timeAgo(then: Date, now: Date): string {
  return `${humanDuration(now.getTime() - then.getTime())} ago`;
}

/** The STATUS column of `ps`. */
export function statusText(s: { status: string; startedAt?: Date; finishedAt?: Date; exitCode: number; now: Date }): string {
  switch (s.status) {
    case 'running':
      return `Up ${humanDuration(s.startedAt ? s.now.getTime() - s.startedAt.getTime() : 0)}`;
    case 'exited':
    case 'stopped':
      return s.finishedAt ? `Exited (${s.exitCode}) ${timeAgo(s.finishedAt, s.now)}` : `Exited (${s.exitCode})`;
    default:
      return s.status.charAt(0).toUpperCase() + s.status.slice(1);
  }
}
