import { WriteSerializer } from './write-serializer';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('WriteSerializer', () => {
  it('runs overlapping units one at a time, in arrival order', async () => {
    const serializer = new WriteSerializer();
    const log: string[] = [];
    let inside = 0;
    let maxInside = 0;
    const unit = (name: string, ms: number) =>
      serializer.run(async () => {
        inside++;
        maxInside = Math.max(maxInside, inside);
        log.push(`${name}:start`);
        await tick(ms);
        log.push(`${name}:end`);
        inside--;
        return name;
      });
    const results = await Promise.all([unit('a', 20), unit('b', 1), unit('c', 5)]);
    expect(results).toEqual(['a', 'b', 'c']);
    expect(maxInside).toBe(1);
    expect(log).toEqual(['a:start', 'a:end', 'b:start', 'b:end', 'c:start', 'c:end']);
    expect(serializer.pending).toBe(0);
  });

  it('keeps going after a unit fails, and gives the failure to that unit only', async () => {
    const serializer = new WriteSerializer();
    const failed = serializer.run(async () => {
      throw new Error('boom');
    });
    const next = serializer.run(async () => 42);
    await expect(failed).rejects.toThrow('boom');
    await expect(next).resolves.toBe(42);
  });
});
