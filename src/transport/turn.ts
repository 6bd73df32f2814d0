/**
 * Event-loop turns, to tell "lately" from "long enough ago" without a timer per use.
 *
 * A server's FIN that follows a response closely reaches the client with it, or
 * one loop iteration later: libuv reports a FIN with the data only when it had
 * already arrived when the poll began; otherwise it is read in the next poll
 * phase. The callers woken by the response run before either. A connection that
 * served a response is therefore not known to be reusable until the check phase
 * of the iteration after the response's (`SETTLE_TURNS`), when such a FIN has
 * been read. Measured with the fault server's `closeAfter`: the FIN came one
 * iteration after the response, past undici's own one-turn wait. It costs a
 * request under load about one loop iteration more than undici's wait alone
 * (pool.request with small bodies went from 1.14-1.59x undici's Pool to about
 * 0.85-1.05x); skipping undici's own wait when lifeline's ended (a flag undici
 * keeps on its socket) won that back but lost POSTs to a FIN that followed an
 * idle drop by two iterations, so it was dropped.
 *
 * `thisTurn()` numbers the current turn and keeps one shared `setImmediate`
 * chain running until `SETTLE_TURNS` turns have passed since its last use, so
 * an idle process runs none; `settled(n)` says whether turn `n` is that far back.
 */

/** Turns (check phases) a connection waits after serving a response before it is handed out again. */
export const SETTLE_TURNS = 2;

let turn = 0;
let lastUse = -SETTLE_TURNS;
let running = false;

function endTurn(): void {
  turn++;
  if (turn - lastUse < SETTLE_TURNS) setImmediate(endTurn);
  else running = false;
}

/** The current turn's number. */
export function thisTurn(): number {
  lastUse = turn;
  if (!running) {
    running = true;
    // Ref'd on purpose: an unref'd immediate lets the poll phase block when the loop is idle.
    setImmediate(endTurn);
  }
  return turn;
}

/** The turn now under way (no chain started): what the pool tells its ledger at each check phase. */
export function currentTurn(): number {
  return turn;
}

/** Whether turn `n` (from `thisTurn()`) is `SETTLE_TURNS` check phases back or more. */
export function settled(n: number): boolean {
  return turn - n >= SETTLE_TURNS;
}
