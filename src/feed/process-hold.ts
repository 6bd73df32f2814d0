/**
 * What keeps the process alive while a feed is open (issue 14, item 8).
 *
 * Every timer lifeline arms is unref'd (see clock.ts), and between a
 * disconnect and the reconnect a feed has no socket: a program whose only work
 * is a feed used to exit with code 0 on its first disconnect. An open feed now
 * holds the process, as a socket or a nats client does, from connect() until
 * close() (or until it gives up on its own: `maxReconnects`).
 *
 * One ref'd timer serves every open feed, armed while at least one holds it:
 * a thousand feeds cost one handle, not a thousand. It never fires in practice
 * (about 24.8 days) and does nothing when it does.
 */
const NEVER = 2 ** 31 - 1;

let holders = 0;
let handle: NodeJS.Timeout | undefined;

/** Holds the process open; returns the release, which acts once however often it is called. */
export function holdProcess(): () => void {
  if (holders++ === 0) handle = setInterval(() => {}, NEVER);
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    if (--holders === 0) {
      clearInterval(handle);
      handle = undefined;
    }
  };
}
