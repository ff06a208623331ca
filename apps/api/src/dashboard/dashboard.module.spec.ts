import express, { type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { staticFiles } from './dashboard.module';

describe('the dashboard static files', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tfleet-static-'));
    writeFileSync(join(dir, 'app.js'), 'console.log(1);\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** As in the API: what falls through is Nest's 404, and an error that reaches Nest is its 500. */
  function app() {
    const a = express();
    a.use('/', staticFiles(dir, { index: 'index.html', fallthrough: true, maxAge: 0 }));
    a.use((_req: Request, res: Response) => res.status(404).json({ statusCode: 404 }));
    a.use((_error: unknown, _req: Request, res: Response, _next: NextFunction) => res.status(500).json({ statusCode: 500, message: 'internal error' }));
    return a;
  }

  it('a range past the end of a file is a 416, not a 500 (found by the fuzz test)', async () => {
    const response = await request(app()).get('/app.js').set('range', 'bytes=99999999-');
    expect(response.status).toBe(416);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.headers['content-range']).toBe('bytes */16');
    expect(response.body).toEqual({ statusCode: 416, message: 'Range Not Satisfiable' });
  });

  it('a failed precondition is a 412; the file itself, a partial range and a missing file answer as before', async () => {
    expect((await request(app()).get('/app.js').set('if-match', '"nope"')).status).toBe(412);
    const whole = await request(app()).get('/app.js');
    expect(whole.status).toBe(200);
    expect(whole.text).toBe('console.log(1);\n');
    const part = await request(app()).get('/app.js').set('range', 'bytes=0-6');
    expect(part.status).toBe(206);
    expect(part.text).toBe('console');
    expect((await request(app()).get('/nope.js')).status).toBe(404);
    expect((await request(app()).get('/%2e%2e/%2e%2e/etc/passwd')).status).toBe(404);
  });
});
