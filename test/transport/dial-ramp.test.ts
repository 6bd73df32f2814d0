import { describe, expect, it } from 'vitest';
import { DialRamp, RAMP_START, type RampDone } from '../../src/transport/dial-ramp.js';

/** Queues `count` dials on `ramp`; each started one is kept, in order, to end by hand. */
function queueDials(ramp: DialRamp, count: number): RampDone[] {
  const started: RampDone[] = [];
  for (let i = 0; i < count; i++) ramp.enqueue((done) => started.push(done));
  return started;
}

describe('DialRamp (replacement dials: slow start)', () => {
  it('starts two dials of a burst, then twice as many after each connect, up to its cap', () => {
    expect(RAMP_START).toBe(2);
    const ramp = new DialRamp(8);
    const started = queueDials(ramp, 16);
    expect(started).toHaveLength(2);
    started[0]!('connected');
    expect(ramp.window).toBe(4);
    expect(started).toHaveLength(5); // one still under way, three more started: four at once
    started[1]!('connected');
    expect(ramp.window).toBe(8);
    expect(ramp.active).toBe(8);
    expect(started).toHaveLength(10);
    started[2]!('connected');
    expect(ramp.window).toBe(8); // the cap
    expect(started).toHaveLength(11);
    for (const done of started.slice(3)) done('connected');
    expect(started).toHaveLength(16);
    for (const done of started.slice(11)) done('connected');
    expect(ramp.active).toBe(0);
  });

  it('falls back to one dial at a time after a failure', () => {
    const ramp = new DialRamp(8);
    const started = queueDials(ramp, 8);
    started[0]!('connected');
    expect(ramp.window).toBe(4);
    expect(ramp.active).toBe(4);
    started[1]!('failed');
    expect(ramp.window).toBe(1);
    // Three are under way from the window of 4; none more starts until they are down to none.
    const before = started.length;
    started[2]!('failed');
    started[3]!('failed');
    expect(started.length).toBe(before);
    started[4]!('failed');
    expect(started.length).toBe(before + 1);
    expect(ramp.active).toBe(1);
  });

  it("hands a slow dial's turn back without changing the window", () => {
    const ramp = new DialRamp(8);
    const started = queueDials(ramp, 6);
    started[0]!('slow');
    expect(ramp.window).toBe(2);
    expect(started).toHaveLength(3); // the slow one's lane went to the next dial
    started[0]!('connected'); // its late outcome: the turn already ended
    expect(ramp.window).toBe(2);
    expect(ramp.active).toBe(2);
  });

  it('starts each burst of ends afresh, from two dials', () => {
    const ramp = new DialRamp(8);
    const first = ramp.tryAcquire()!;
    first('connected');
    expect(ramp.window).toBe(RAMP_START);
    expect(ramp.tryAcquire()).toBeDefined();
    expect(ramp.tryAcquire()).toBeDefined();
    expect(ramp.tryAcquire()).toBeUndefined();
  });

  it('takes a withdrawn dial out of the queue, and ends a turn once', () => {
    const ramp = new DialRamp(8);
    const started = queueDials(ramp, 2);
    let third = false;
    const withdraw = ramp.enqueue(() => (third = true));
    withdraw();
    withdraw();
    started[0]!('connected');
    started[0]!('connected');
    started[1]!('connected');
    expect(third).toBe(false);
    expect(ramp.active).toBe(0);
  });
});
