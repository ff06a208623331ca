import express, { json } from 'express';
import request from 'supertest';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { bodyParserErrorHandler } from './body-parser-errors';

function app() {
  const a = express();
  a.use(json({ limit: '1kb' }));
  a.use(bodyParserErrorHandler);
  a.post('/', (req, res) => res.json({ received: req.body as unknown }));
  return a;
}

describe('request bodies that cannot be read', () => {
  it.each(['gzip', 'deflate', 'br'])('a body declared %s but not compressed is a 400 naming the body', async (encoding) => {
    const response = await request(app()).post('/').set('content-type', 'application/json').set('content-encoding', encoding).send('{"a":1}');
    expect(response.status).toBe(400);
    expect(response.body.issues).toEqual([{ field: '(body)', message: expect.stringContaining('Content-Encoding') }]);
  });

  it('an encoding nobody accepts is a 415', async () => {
    const response = await request(app()).post('/').set('content-type', 'application/json').set('content-encoding', 'compress').send('{"a":1}');
    expect(response.status).toBe(415);
    expect(response.body.issues[0].field).toBe('(body)');
  });

  it('invalid JSON and an oversized body are 400s', async () => {
    expect((await request(app()).post('/').set('content-type', 'application/json').send('{"a":')).status).toBe(400);
    expect((await request(app()).post('/').set('content-type', 'application/json').send(JSON.stringify({ a: 'x'.repeat(2_000) }))).status).toBe(400);
  });

  it('a body really compressed as declared is read', async () => {
    // Raw bytes through fetch: supertest would serialise a Buffer sent as JSON.
    const server = app().listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: gzipSync('{"a":1}') });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ received: { a: 1 } });
    } finally {
      server.close();
    }
  });
});
