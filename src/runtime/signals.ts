// Signal names as users write them (TERM, SIGTERM, 15, RTMIN+3), checked
// and normalised for crun.
import { constants as osConstants } from 'node:os';

export class SignalError extends Error {}

/** "TERM", "SIGTERM", "15" -> "SIGTERM"/"15" as crun accepts; unknown names are errors. */
export function normalizeSignal(sig: string): string {
  const s = sig.trim().toUpperCase();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n < 1 || n > 64) throw new SignalError(`invalid signal: ${sig}`);
    return s;
  }
  const name = s.startsWith('SIG') ? s : `SIG${s}`;
  if (/^SIGRTM(IN|AX)([+-]\d+)?$/.test(name)) return name;
  if (!(name in osConstants.signals)) throw new SignalError(`invalid signal: ${sig}`);
  return name;
}

