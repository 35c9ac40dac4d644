// Whether a container's command can run at all, answered inside its mounted
// root: Podman's 127 (not found) and 126 (not executable) with its message.
// Its own module: exec uses it without the whole of container start-up.
import { checkExecutable, RootFs } from '../runtime/rootfs';
import { EngineError } from './errors';

/** Podman's error (127 not found, 126 not executable) when cmd cannot run in the mounted root, else undefined. */
export function commandProblem(rootfs: string, cmd: string, env: string[]): EngineError | undefined {
  const root = new RootFs(rootfs);
  try {
    const exec = checkExecutable(root, cmd, env);
    if (exec.ok) return undefined;
    const kind = exec.code === 127 ? 'OCI runtime attempted to invoke a command that was not found' : 'OCI permission denied';
    return new EngineError(`crun: ${exec.reason}: ${kind}`, exec.code);
  } finally {
    root.close();
  }
}
