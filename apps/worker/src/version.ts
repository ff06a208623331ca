import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The package version, read once from package.json at the project root. */
export const TFLEET_VERSION: string = (() => {
  const candidates = [join(__dirname, '..', '..', '..', '..', 'package.json'), join(__dirname, '..', '..', '..', 'package.json')];
  for (const file of candidates) {
    try {
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
      if (parsed.name === 'tfleet' && typeof parsed.version === 'string') return parsed.version;
    } catch {
      // try the next location
    }
  }
  return 'unknown';
})();
