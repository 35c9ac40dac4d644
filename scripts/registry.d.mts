export interface Registry {
  host: string;
  stop(): Promise<void>;
}
export function freePort(): Promise<number>;
export function startRegistry(dir: string, opts?: { htpasswd?: { user: string; password: string } }): Promise<Registry>;
export function writeRegistriesConf(dir: string, body: string): string;
