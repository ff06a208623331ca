import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConnection } from './tfleet-connection';
import { CliError, ExitCode } from './tfleet-errors';

describe('resolveConnection', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'tfleet-conn-'));
    writeFileSync(join(dataDir, 'api-key'), 'key-from-the-file-0123\n');
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('takes flags over the environment, and the environment over the key file', () => {
    const env = { TFLEET_URL: 'http://10.0.0.5:4000/', TFLEET_API_KEY: 'key-from-the-env-0123', TFLEET_DATA_DIR: dataDir };
    expect(resolveConnection({ url: 'http://127.0.0.1:9/', key: 'flag-key' }, env)).toEqual({ url: 'http://127.0.0.1:9', key: 'flag-key', keySource: '--key' });
    expect(resolveConnection({}, env)).toEqual({ url: 'http://10.0.0.5:4000', key: 'key-from-the-env-0123', keySource: 'TFLEET_API_KEY' });
  });

  it("reads a local API's key file (default URL from PORT), never for a remote URL", () => {
    expect(resolveConnection({}, { PORT: '3100', TFLEET_DATA_DIR: dataDir })).toEqual({ url: 'http://127.0.0.1:3100', key: 'key-from-the-file-0123', keySource: join(dataDir, 'api-key') });
    expect(resolveConnection({ url: 'http://localhost:3000', dataDir }, {}).key).toBe('key-from-the-file-0123');
    expect(() => resolveConnection({ url: 'http://tfleet.example:3000', dataDir }, {})).toThrow(/no API key for http:\/\/tfleet.example:3000/);
  });

  it.each([
    [{ url: 'not a url' }, {}, ExitCode.BadInput, /--url: 'not a url' is not a URL/],
    [{ url: 'ftp://host/' }, {}, ExitCode.BadInput, /not an http\(s\) URL/],
    [{}, { TFLEET_URL: 'redis://x' }, ExitCode.BadInput, /invalid environment: TFLEET_URL/],
    [{}, { TFLEET_DATA_DIR: '/nonexistent-tfleet-dir' }, ExitCode.Unauthorized, /no API key: pass --key <key> or set TFLEET_API_KEY \(no key file at \/nonexistent-tfleet-dir\/api-key/],
  ])('refuses %j %j with one line and the exit status for it', (flags, env, code, message) => {
    let caught: unknown;
    try {
      resolveConnection(flags, env);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CliError);
    expect((caught as CliError).exitCode).toBe(code);
    expect((caught as CliError).message).toMatch(message);
    expect((caught as CliError).message).not.toContain('\n');
  });
});
