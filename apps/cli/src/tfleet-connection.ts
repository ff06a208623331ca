import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { envSchema } from '@tfleet/config';
import { formatIssues, parseWith } from '@tfleet/contracts';
import { CliError, ExitCode } from './tfleet-errors';

/** The variables the CLI reads: its own TFLEET_URL, and the server's port, data directory and key (same rules as libs/config). */
const cliEnvSchema = envSchema.pick({ PORT: true, TFLEET_DATA_DIR: true, TFLEET_API_KEY: true }).extend({
  TFLEET_URL: z.preprocess((v) => (v === '' ? undefined : v), z.url({ protocol: /^https?$/ }).optional()),
});

export interface ConnectionFlags {
  url?: string;
  key?: string;
  dataDir?: string;
}

export interface Connection {
  url: string;
  key: string;
  /** Where the key came from, for the message when the API refuses it. */
  keySource: string;
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/**
 * The API's URL and key: flags first, then TFLEET_URL / TFLEET_API_KEY, then (for an API on
 * this machine only) the key the API generated into its data directory.
 */
export function resolveConnection(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): Connection {
  const parsed = parseWith(cliEnvSchema, env);
  if (!parsed.ok) throw new CliError(`invalid environment: ${formatIssues(parsed.issues)}`, ExitCode.BadInput);
  const e = parsed.value;
  const rawUrl = flags.url ?? e.TFLEET_URL ?? `http://127.0.0.1:${e.PORT}`;
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new CliError(`--url: '${rawUrl}' is not a URL; give one such as http://127.0.0.1:3000`, ExitCode.BadInput);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`--url: '${rawUrl}' is not an http(s) URL`, ExitCode.BadInput);
  const base = url.toString().replace(/\/+$/, '');
  if (flags.key !== undefined) return { url: base, key: flags.key, keySource: '--key' };
  if (e.TFLEET_API_KEY !== undefined) return { url: base, key: e.TFLEET_API_KEY, keySource: 'TFLEET_API_KEY' };
  const keyFile = join(resolve(flags.dataDir ?? e.TFLEET_DATA_DIR), 'api-key');
  if (LOCAL_HOSTS.has(url.hostname) && existsSync(keyFile)) {
    const key = readFileSync(keyFile, 'utf8').trim();
    if (key.length > 0) return { url: base, key, keySource: keyFile };
  }
  throw new CliError(
    LOCAL_HOSTS.has(url.hostname)
      ? `no API key: pass --key <key> or set TFLEET_API_KEY (no key file at ${keyFile}; --data-dir or TFLEET_DATA_DIR names the API's data directory)`
      : `no API key for ${base}: pass --key <key> or set TFLEET_API_KEY`,
    ExitCode.Unauthorized,
  );
}
