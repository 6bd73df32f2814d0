/**
 * Cancel: a dial's cancellation without an AbortController. Each listener runs once, a removed
 * one never, and the AbortSignal made for an API that needs one follows it, made before or after.
 */
import { describe, expect, it } from 'vitest';
import { Cancel, cancelOnAbort } from '../../src/transport/cancel.js';

describe('Cancel', () => {
  it('calls each listener once, in order; a removed listener and a second cancel call nothing', () => {
    const cancel = new Cancel();
    const calls: string[] = [];
    cancel.onCancel(() => calls.push('a'));
    const remove = cancel.onCancel(() => calls.push('removed'));
    cancel.onCancel(() => calls.push('b'));
    remove();
    remove();
    expect(cancel.aborted).toBe(false);
    cancel.cancel();
    cancel.cancel();
    expect(cancel.aborted).toBe(true);
    expect(calls).toEqual(['a', 'b']);
    expect(cancel.onCancel(() => calls.push('late'))).toBeTypeOf('function');
    expect(calls).toEqual(['a', 'b']);
  });

  it('its AbortSignal aborts with it, whether made before the cancel or after', () => {
    const before = new Cancel();
    const signal = before.signal;
    expect(signal.aborted).toBe(false);
    before.cancel();
    expect(signal.aborted).toBe(true);
    const after = new Cancel();
    after.cancel();
    expect(after.signal.aborted).toBe(true);
  });

  it('cancelOnAbort follows an AbortSignal, and a removed listener is not called', () => {
    const controller = new AbortController();
    const cancel = cancelOnAbort(controller.signal);
    const calls: string[] = [];
    cancel.onCancel(() => calls.push('kept'));
    cancel.onCancel(() => calls.push('removed'))();
    controller.abort();
    expect(cancel.aborted).toBe(true);
    expect(calls).toEqual(['kept']);
    cancel.onCancel(() => calls.push('late'));
    expect(calls).toEqual(['kept']);
  });
});
