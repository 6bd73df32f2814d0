import { describe, expect, it } from 'vitest';
import { DialRamp, type RampDone } from '../../src/transport/dial-ramp.js';

/** Queues `count` dials on `ramp`; each started one is kept, in order, to end by hand. */
function queueDials(ramp: DialRamp, count: number): RampDone[] {
  const started: RampDone[] = [];
  for (let i = 0; i < count; i++) ramp.enqueue((done) => started.push(done));
  return started;
}

describe('DialRamp (replacement dials: slow start)', () => {
  it('starts one dial of a burst, then twice as many after each connect, up to its cap', () => {
    const ramp = new DialRamp(8);
    const started = queueDials(ramp, 16);
    expect(started).toHaveLength(1);
    started[0]!('connected');
    expect(started).toHaveLength(3); // window 2
    started[1]!('connected');
    expect(ramp.window).toBe(4);
    expect(started).toHaveLength(6); // one still under way, three more started: four at once
    started[2]!('connected');
    started[3]!('connected');
    started[4]!('connected');
    started[5]!('connected');
    expect(ramp.window).toBe(8);
    expect(ramp.active).toBe(8);
    expect(started).toHaveLength(14);
    for (const done of started.slice(6)) done('connected');
    expect(started).toHaveLength(16);
    for (const done of started.slice(14)) done('connected');
    expect(ramp.active).toBe(0);
  });

  it('falls back to one dial at a time after a failure', () => {
    const ramp = new DialRamp(8);
    const started = queueDials(ramp, 6);
    started[0]!('connected');
    started[1]!('connected');
    expect(ramp.window).toBe(4);
    started[2]!('failed');
    expect(ramp.window).toBe(1);
    // Three were started under the window of 4; with one under way again, none more starts.
    expect(ramp.active).toBe(3);
    const before = started.length;
    started[3]!('failed');
    started[4]!('failed');
    expect(started.length).toBe(before);
    started[5]!('failed');
    expect(ramp.active).toBe(0);
  });

  it("hands a slow dial's turn back without changing the window", () => {
    const ramp = new DialRamp(8);
    const started = queueDials(ramp, 4);
    started[0]!('connected');
    expect(ramp.window).toBe(2);
    started[1]!('slow');
    expect(ramp.window).toBe(2);
    expect(started).toHaveLength(4); // the slow one's lane went to the next dial
    started[1]!('connected'); // its late outcome: the turn already ended
    expect(ramp.window).toBe(2);
    expect(ramp.active).toBe(2);
  });

  it('starts each burst of ends from one dial again', () => {
    const ramp = new DialRamp(8);
    const first = ramp.tryAcquire()!;
    first('connected');
    expect(ramp.window).toBe(1);
    expect(ramp.tryAcquire()).toBeDefined();
    expect(ramp.tryAcquire()).toBeUndefined();
  });

  it('takes a withdrawn dial out of the queue, and ends a turn once', () => {
    const ramp = new DialRamp(8);
    const started = queueDials(ramp, 1);
    let second = false;
    const withdraw = ramp.enqueue(() => (second = true));
    withdraw();
    withdraw();
    started[0]!('connected');
    started[0]!('connected');
    expect(second).toBe(false);
    expect(ramp.active).toBe(0);
  });
});
