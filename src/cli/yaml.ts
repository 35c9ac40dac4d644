// A small YAML writer for `info`'s default output (plain data only).
function scalar(v: unknown): string {
  if (v === null || v === undefined) return '""';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const s = String(v);
  if (s === '' || /^[\s]|[\s]$|[:#{}[\],&*?|<>=!%@`'"\n]|^(true|false|null|yes|no|~|-?\d[\d.e+-]*)$/i.test(s)) return JSON.stringify(s);
  return s;
}

export function toYaml(value: unknown, indent = 0): string {
  const pad = ' '.repeat(indent);
  if (Array.isArray(value)) {
    if (value.length === 0) return `${pad}[]\n`;
    return value
      .map((item) => {
        if (item !== null && typeof item === 'object') {
          const inner = toYaml(item, indent + 2).replace(/^\s+/, '');
          return `${pad}- ${inner}`;
        }
        return `${pad}- ${scalar(item)}\n`;
      })
      .join('');
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) return `${pad}{}\n`;
    return entries
      .map(([k, v]) => {
        if (v !== null && typeof v === 'object' && (Array.isArray(v) ? v.length > 0 : Object.keys(v).length > 0)) {
          return `${pad}${k}:\n${toYaml(v, indent + 2)}`;
        }
        if (v !== null && typeof v === 'object') return `${pad}${k}: ${Array.isArray(v) ? '[]' : '{}'}\n`;
        return `${pad}${k}: ${scalar(v)}\n`;
      })
      .join('');
  }
  return `${pad}${scalar(value)}\n`;
}
