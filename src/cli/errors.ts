// How a command ends: an exit code, and for failures Podman's "Error: ..." line.
export class ExitError extends Error {
  constructor(readonly exitCode: number, message = '') {
    super(message);
  }
}

export function errorExitCode(err: unknown): number {
  const code = (err as { exitCode?: unknown })?.exitCode;
  return typeof code === 'number' ? code : 125;
}
