import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TfleetConfig } from '@tfleet/config';

export interface ResolvedApiKey {
  key: string;
  /** Where a generated key is kept; null when it came from TFLEET_API_KEY. */
  file: string | null;
  generated: boolean;
}

/** A new key: 32 random bytes (256 bits), base64url, after a `tfl_` tag that says what it is. */
export function generateApiKey(): string {
  return `tfl_${randomBytes(32).toString('base64url')}`;
}

/** What is stored of a key: its SHA-256 (32 bytes). */
export function apiKeyDigest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** The first characters of a key, stored to tell keys apart in a list (never enough to use it). */
export function apiKeyPrefix(key: string): string {
  return key.slice(0, 12);
}

/**
 * TFLEET_API_KEY, else the key kept in the data directory, else a new one written there. It is
 * the start-up admin key (ApiKeys stores its hash); the file stays so that the CLI on the same
 * machine and the quick start can read it.
 */
export function resolveApiKey(config: TfleetConfig): ResolvedApiKey {
  if (config.apiKey !== undefined) return { key: config.apiKey, file: null, generated: false };
  const file = join(config.dataDir, 'api-key');
  if (existsSync(file)) {
    const key = readFileSync(file, 'utf8').trim();
    if (key.length >= 16) return { key, file, generated: false };
  }
  mkdirSync(config.dataDir, { recursive: true });
  const key = generateApiKey();
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return { key, file, generated: true };
}
