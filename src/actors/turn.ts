/**
 * Event-loop turns, to tell "this turn" from "a later one" without a timer per use.
 *
 * A server's FIN that follows a response closely is often read in the same poll
 * phase as the response, as the callback right after it; the callers woken by the
 * response run in between. A connection that served a response during this turn
 * is therefore not known to be reusable until the turn's check phase, when such
 * a FIN has been seen. `thisTurn()` numbers the current turn (scheduling one
 * `setImmediate` per turn, shared by every caller, to end it) and `sameTurn(n)`
 * says whether turn `n` is still under way.
 */

let turn = 0;
let ending = false;

function endTurn(): void {
  ending = false;
  turn++;
}

/** The current turn's number; the turn ends at this loop iteration's check phase. */
export function thisTurn(): number {
  if (!ending) {
    ending = true;
    // Ref'd on purpose: an unref'd immediate lets the poll phase block when the loop is idle.
    setImmediate(endTurn);
  }
  return turn;
}

/** Whether turn `n` (from `thisTurn()`) has not ended yet. */
export function sameTurn(n: number): boolean {
  return ending && n === turn;
}
