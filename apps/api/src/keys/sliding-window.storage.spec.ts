import { SlidingWindowStorage } from './sliding-window.storage';

describe('SlidingWindowStorage', () => {
  it('allows `limit` hits per window, refuses the next with the wait until one fits, and lets the previous window fade', async () => {
    let now = 60_000 * 100; // the start of a window
    const storage = new SlidingWindowStorage(() => now);
    const hit = () => storage.increment('k', 60_000, 10);
    for (let i = 0; i < 10; i++) expect((await hit()).isBlocked).toBe(false);
    const refused = await hit();
    expect(refused.isBlocked).toBe(true);
    // 10 hits in this window: one more fits once they weigh 9, 6 s into the next window (66 s from now).
    expect(refused.timeToBlockExpire).toBe(66);
    expect((await storage.increment('other', 60_000, 10)).isBlocked).toBe(false);

    now += 60_000 + 5_000; // 5 s into the next window: the 10 old hits weigh 10 * 55/60 = 9.17
    expect((await hit()).isBlocked).toBe(true);
    now += 1_000; // weigh 9.0: one fits
    expect((await hit()).isBlocked).toBe(false);
    const again = await hit();
    expect(again.isBlocked).toBe(true);
    // 10 * (1 - t/60) + 1 + 1 <= 10 -> t >= 12 s into the window, 6 s from now.
    expect(again.timeToBlockExpire).toBe(6);

    now += 120_000; // two windows later nothing is left
    for (let i = 0; i < 10; i++) expect((await hit()).isBlocked).toBe(false);
  });
});
