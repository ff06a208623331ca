import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pacedLoad, quantile } from './paced';

describe('quantile', () => {
  it('is the smallest value with at least that share of the list at or below it', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(quantile(values, 0.5)).toBe(50);
    expect(quantile(values, 0.99)).toBe(99);
    expect(quantile(values, 1)).toBe(100);
    expect(quantile([7], 0.99)).toBe(7);
    expect(quantile([], 0.5)).toBeNull();
  });
});

describe('pacedLoad', () => {
  let server: Server;
  let url: string;
  const arrivals: number[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      arrivals.push(performance.now());
      res.statusCode = req.url === '/fail' ? 500 : 201;
      req.resume();
      req.on('end', () => res.end('{}'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => (arrivals.length = 0));

  it('spreads requests over the duration instead of sending them at once, and times every answer', async () => {
    const result = await pacedLoad({ url: `${url}/ok`, method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', rate: 100, durationS: 0.5, connections: 4 });
    expect(result).toMatchObject({ requests: 50, non2xx: 0, errors: 0, timeouts: 0 });
    expect(result.latenciesMs).toHaveLength(50);
    expect(result.latenciesMs).toEqual([...result.latenciesMs].sort((a, b) => a - b));
    // 50 requests due 10 ms apart: the last arrives ~490 ms after the first (a burst would take a few ms).
    expect(arrivals[arrivals.length - 1]! - arrivals[0]!).toBeGreaterThan(400);
  });

  it('counts answers that are not 2xx apart from the latencies', async () => {
    const result = await pacedLoad({ url: `${url}/fail`, method: 'GET', headers: {}, rate: 100, durationS: 0.1, connections: 2 });
    expect(result).toMatchObject({ requests: 10, non2xx: 10, errors: 0 });
    expect(result.latenciesMs).toEqual([]);
  });

  it('counts a refused connection as an error, not a latency', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const result = await pacedLoad({ url: `http://127.0.0.1:${port}/`, method: 'GET', headers: {}, rate: 100, durationS: 0.05, connections: 1 });
    expect(result).toMatchObject({ requests: 0, errors: 5 });
    expect(result.latenciesMs).toEqual([]);
  });
});
