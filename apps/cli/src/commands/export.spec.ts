import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTfleet } from '../tfleet';

/**
 * `tfleet export` against a stand-in HTTP server, for what the real API never serves: a
 * manifest whose weight path leaves the directory, a missing task.json, an API without the
 * export routes. The e2e test (test/e2e/cli.e2e-spec.ts) exports a real run from the real API.
 */
describe('tfleet export', () => {
  const KEY = 'export-test-key-0123';
  let server: Server;
  let url: string;
  let dir: string;
  let modelJson: unknown;
  let taskJson: string | null;
  const requests: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      if (req.headers.authorization !== `Bearer ${KEY}`) return void res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ statusCode: 401, message: 'wrong API key' }));
      const base = '/api/experiments/e1/model/';
      if (req.url === `${base}model.json`) return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(modelJson));
      if (req.url === `${base}weights.bin`) return void res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]));
      if (req.url === `${base}task.json` && taskJson !== null) return void res.writeHead(200, { 'content-type': 'application/json' }).end(taskJson);
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ statusCode: 404, message: req.url?.startsWith('/api/experiments/e1/') ? 'no such file' : `Cannot GET ${req.url}` }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tfleet-export-'));
    requests.length = 0;
    modelJson = { format: 'layers-model', modelTopology: { class_name: 'Sequential' }, weightsManifest: [{ paths: ['weights.bin'], weights: [] }] };
    taskJson = JSON.stringify({ kind: 'image-classification', classes: 10 });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const run = async (args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runTfleet(args, { out: (l) => out.push(l), err: (l) => err.push(l) }, { TFLEET_URL: url, TFLEET_API_KEY: KEY }, false);
    return { code, out, err };
  };

  it('writes model.json, every weight file it names and task.json', async () => {
    const result = await run(['export', 'e1', join(dir, 'model')]);
    expect(result).toMatchObject({ code: 0, err: [] });
    expect(JSON.parse(readFileSync(join(dir, 'model', 'model.json'), 'utf8'))).toEqual(modelJson);
    expect([...readFileSync(join(dir, 'model', 'weights.bin'))]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(readFileSync(join(dir, 'model', 'task.json'), 'utf8')).toBe(taskJson);
    expect(result.out).toEqual([`${join(dir, 'model', 'model.json')} (${JSON.stringify(modelJson).length} bytes)`, `${join(dir, 'model', 'weights.bin')} (8 bytes)`, `${join(dir, 'model', 'task.json')} (${taskJson!.length} bytes)`]);
  });

  it('exports without task.json when there is none, and says so', async () => {
    taskJson = null;
    const result = await run(['export', 'e1', dir]);
    expect(result.code).toBe(0);
    expect(result.err).toEqual(['no task.json for e1 (no such file); the model was exported without it']);
  });

  it('refuses a manifest whose weight path leaves the directory, before writing anything', async () => {
    modelJson = { modelTopology: {}, weightsManifest: [{ paths: ['../../escape.bin'] }] };
    const result = await run(['export', 'e1', join(dir, 'model')]);
    expect(result.code).toBe(6);
    expect(result.err).toHaveLength(1);
    expect(result.err[0]).toMatch(/^tfleet: unexpected answer from .* to GET \/api\/experiments\/e1\/model\/model\.json \(weightsManifest\.0\.paths\.0: a plain file name\)/);
    expect(requests).toEqual(['GET /api/experiments/e1/model/model.json']);
  });

  it('names the missing feature when the server has no export endpoint', async () => {
    const result = await run(['export', 'other', dir]);
    expect(result.code).toBe(5);
    expect(result.err).toEqual(['tfleet: model export is not available on this server (GET /api/experiments/other/model/model.json: 404): it needs a newer tfleet API']);
  });
});
