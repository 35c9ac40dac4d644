// Errors that carry the exit code Podman uses for the same failure.
export class EngineError extends Error {
  constructor(message: string, readonly exitCode = 125) {
    super(message);
  }
}

/** Podman: "no such container" and "no such image" exit with 1 from rm/rmi, 125 elsewhere. */
export class NotFoundError extends EngineError {}

/** Podman: removing something in use without --force exits with 2. */
export class InUseError extends EngineError {
  constructor(message: string) {
    super(message, 2);
  }
}
