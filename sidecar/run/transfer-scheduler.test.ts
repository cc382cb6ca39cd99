/**
 * The transfer schedule: one at a time per zone, a request meanwhile run after it, refusals
 * retried after a doubling pause, nothing after stop().
 */
import { TransferScheduler, type TransferOutcome } from './transfer-scheduler';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe('TransferScheduler', () => {
  it('runs one transfer of a zone at a time, and the one asked for meanwhile right after it', async () => {
    const started: string[] = [];
    const finish: Array<() => void> = [];
    const taken: string[] = [];
    const s = new TransferScheduler<number>({
      run: (zone) => {
        started.push(zone);
        return new Promise<TransferOutcome<number>>((resolve) => finish.push(() => resolve({ taken: started.length })));
      },
      taken: (zone, n) => taken.push(`${zone}#${n}`),
      refused: () => undefined,
    });
    void s.request('a.test');
    void s.request('a.test');
    void s.request('a.test');
    void s.request('b.test');
    await tick();
    expect(started).toEqual(['a.test', 'b.test']);
    finish.shift()!();
    await tick();
    // The two requests made while a.test ran became one more transfer.
    expect(started).toEqual(['a.test', 'b.test', 'a.test']);
    finish.shift()!();
    finish.shift()!();
    await tick();
    expect(taken).toEqual(['a.test#2', 'b.test#3', 'a.test#3']);
    expect(s.counts).toEqual({ taken: 3, refused: 0 });
  });

  it('retries a refused transfer after a pause that doubles, and forgets the failures once one is taken', async () => {
    const pauses: number[] = [];
    let refuse = 3;
    const s = new TransferScheduler<string>({
      run: async () => {
        if (refuse-- > 0) throw new Error('REFUSED');
        return { taken: 'ok' };
      },
      taken: () => undefined,
      refused: (_zone, reason, retryMs) => {
        expect(reason).toBe('REFUSED');
        pauses.push(retryMs);
      },
      retryMs: 5,
    });
    await s.request('a.test');
    await tick(100);
    expect(pauses).toEqual([5, 10, 20]);
    expect(s.counts).toEqual({ taken: 1, refused: 3 });
    refuse = 1;
    await s.request('a.test');
    await tick(30);
    expect(pauses).toEqual([5, 10, 20, 5]);
  });

  it('takes nothing once stopped, not even a transfer that was under way', async () => {
    let finish: (() => void) | undefined;
    const taken: string[] = [];
    const s = new TransferScheduler<string>({
      run: () => new Promise((resolve) => (finish = () => resolve({ taken: 'late' }))),
      taken: (zone) => taken.push(zone),
      refused: () => undefined,
    });
    void s.request('a.test');
    await tick();
    s.stop();
    finish!();
    await tick();
    void s.request('b.test');
    await tick();
    expect(taken).toEqual([]);
  });
});
