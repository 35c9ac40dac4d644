// See scripts/boot.cjs: the first success of each kind of command writes
// code caches of its own, with what that process compiled.  Called on the
// way out (the exit path included), or before exec hands the process over.
export function warmCodeCache(): void {
  const warm = (globalThis as { __selkieWarmCache?: () => void }).__selkieWarmCache;
  if (warm && !process.env.SELKIE_NO_WARM) warm();
}
