/**
 * ConnectAttempt: what a slot's dial and a feed's connect share. Only the attempt under
 * way reports; one that arrives after a cancel, or after a newer start, is closed unreported.
 */
import { describe, expect, it } from 'vitest';
import type { Cancel } from '../../src/transport/cancel.js';
import { ConnectAttempt } from '../../src/transport/connect-attempt.js';

function connection() {
  return { destroyed: false, destroy() { this.destroyed = true; } };
}

/** A connect the test settles by hand, and the signal it was given. */
function pending() {
  let resolve!: (value: ReturnType<typeof connection>) => void;
  let reject!: (error: Error) => void;
  let signal!: Cancel;
  const connect = (given: Cancel) => {
    signal = given;
    return new Promise<ReturnType<typeof connection>>((res, rej) => ((resolve = res), (reject = rej)));
  };
  return { connect, resolve: (v: ReturnType<typeof connection>) => resolve(v), reject: (e: Error) => reject(e), signal: () => signal };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('ConnectAttempt', () => {
  it('reports the connection of the attempt under way, a turn later', async () => {
    const attempt = new ConnectAttempt();
    const connect = pending();
    const done: unknown[] = [];
    attempt.start(connect.connect, (c) => done.push(c), () => done.push('failed'));
    const conn = connection();
    connect.resolve(conn);
    expect(done).toEqual([]);
    await settle();
    expect(done).toEqual([conn]);
    expect(conn.destroyed).toBe(false);
  });

  it('a cancel fires its Cancel; what arrives after it is closed and never reported', async () => {
    const attempt = new ConnectAttempt();
    const connect = pending();
    const reports: unknown[] = [];
    attempt.start(connect.connect, (c) => reports.push(c), (e) => reports.push(e));
    attempt.cancel();
    expect(connect.signal().aborted).toBe(true);
    const late = connection();
    connect.resolve(late);
    await settle();
    expect(reports).toEqual([]);
    expect(late.destroyed).toBe(true);
  });

  it('a failure after a cancel is not reported; one under way is', async () => {
    const attempt = new ConnectAttempt();
    const first = pending();
    const failures: unknown[] = [];
    const started = attempt.start(first.connect, () => {}, (e) => failures.push(e));
    attempt.cancel();
    first.reject(new Error('aborted'));
    await started.catch(() => {});
    await settle();
    expect(failures).toEqual([]);
    const second = pending();
    attempt.start(second.connect, () => {}, (e) => failures.push(e));
    const refused = new Error('ECONNREFUSED');
    second.reject(refused);
    await settle();
    expect(failures).toEqual([refused]);
  });

  it('a newer start makes the older attempt stale: only the newer one reports', async () => {
    const attempt = new ConnectAttempt();
    const older = pending();
    const newer = pending();
    const done: unknown[] = [];
    attempt.start(older.connect, (c) => done.push(c), () => {});
    attempt.start(newer.connect, (c) => done.push(c), () => {});
    const stale = connection();
    const fresh = connection();
    older.resolve(stale);
    newer.resolve(fresh);
    await settle();
    expect(done).toEqual([fresh]);
    expect(stale.destroyed).toBe(true);
  });
});
