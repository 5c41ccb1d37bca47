import { describe, expect, it } from 'vitest';
import { serial } from '../../lib/serial';

/** A run that reads its input when it starts and holds until released. */
function gatedRuns() {
  const started: number[] = [];
  const gates: Array<() => void> = [];
  let input = 0;
  const run = serial(async () => {
    const seen = input;
    started.push(seen);
    await new Promise<void>((release) => gates.push(release));
    return seen;
  });
  return { run, started, gates, set: (value: number) => (input = value) };
}

describe('serial', () => {
  it('a call during a run gets a run that starts after it, and callers meanwhile share that one', async () => {
    const g = gatedRuns();
    const first = g.run();
    g.set(1);
    const second = g.run();
    const third = g.run();
    expect(g.started).toEqual([0]); // one at a time
    g.gates[0]!();
    expect(await first).toBe(0);
    await Promise.resolve();
    await new Promise((r) => setTimeout(r, 0));
    expect(g.started).toEqual([0, 1]); // the follow-up read the input as it was after the calls
    g.gates[1]!();
    expect(await second).toBe(1);
    expect(await third).toBe(1);
    expect(g.started).toHaveLength(2);
  });

  it('a failed run does not stop the one after it', async () => {
    let calls = 0;
    let fail!: (e: Error) => void;
    const run = serial(() => (++calls === 1 ? new Promise<number>((_, reject) => (fail = reject)) : Promise.resolve(calls)));
    const first = run();
    const second = run();
    fail(new Error('offline'));
    await expect(first).rejects.toThrow('offline');
    expect(await second).toBe(2);
    expect(await run()).toBe(3); // idle again: a fresh run
  });
});
