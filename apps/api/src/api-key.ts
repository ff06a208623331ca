import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TfleetConfig } from '@tfleet/config';

export interface ResolvedApiKey {
  key: string;
  /** Where a generated key is kept; null when it came from TFLEET_API_KEY. */
  file: string | null;
  generated: boolean;
}

/** TFLEET_API_KEY, else the key kept in the data directory, else a new one written there. */
export function resolveApiKey(config: TfleetConfig): ResolvedApiKey {
  if (config.apiKey !== undefined) return { key: config.apiKey, file: null, generated: false };
  const file = join(config.dataDir, 'api-key');
  if (existsSync(file)) {
    const key = readFileSync(file, 'utf8').trim();
    if (key.length >= 16) return { key, file, generated: false };
  }
  mkdirSync(config.dataDir, { recursive: true });
  const key = `tfl_${randomBytes(24).toString('base64url')}`;
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return { key, file, generated: true };
}
