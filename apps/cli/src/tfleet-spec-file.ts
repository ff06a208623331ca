import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { CliError, ExitCode } from './tfleet-errors';

/** Reads a JSON or YAML document (.json: JSON; .yaml/.yml: YAML; anything else: YAML, which reads JSON too). */
export function readDocument(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : (code ?? 'unreadable');
    throw new CliError(`cannot read ${what} ${path}: ${why}`, ExitCode.BadInput);
  }
  const json = extname(path).toLowerCase() === '.json';
  try {
    return json ? (JSON.parse(text) as unknown) : (parseYaml(text) as unknown);
  } catch (error) {
    const first = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    throw new CliError(`${what} ${path} is not valid ${json ? 'JSON' : 'YAML'}: ${first}`, ExitCode.BadInput);
  }
}

/** One spec or a list of specs, as objects (the API validates their fields). */
export function specsIn(document: unknown, path: string): Record<string, unknown>[] {
  const list = Array.isArray(document) ? document : [document];
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (list.length === 0 || !list.every(isObject)) {
    throw new CliError(`spec file ${path} holds no experiment spec: write one JSON/YAML object (or a list of them) such as {"dataset":{"name":"mnist"},"model":{"family":"cnn"}}`, ExitCode.BadInput);
  }
  return list;
}
