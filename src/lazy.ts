// Node built-ins that some commands need and `run` does not, loaded on first
// use.  Not with import(): the bundle runs from V8's code cache in a vm.Script
// (scripts/boot.cjs), where a dynamic import() of a built-in has no loader.
import { createRequire } from 'node:module';

const load = createRequire(__filename);

export function nodeCrypto(): typeof import('node:crypto') {
  return load('node:crypto') as typeof import('node:crypto');
}

export function nodeHttps(): typeof import('node:https') {
  return load('node:https') as typeof import('node:https');
}

export function nodeTls(): typeof import('node:tls') {
  return load('node:tls') as typeof import('node:tls');
}
