/**
 * A loopback venue that counts arrivals (test/peers/arrival-server.ts), ended when the test finishes.
 */
import { onTestFinished } from 'vitest';
import { launchArrivalServer, type ArrivalServer } from '../peers/arrival-server.js';

export { maxInWindow, type ArrivalServer } from '../peers/arrival-server.js';

export async function startArrivalServer(): Promise<ArrivalServer> {
  const server = await launchArrivalServer();
  onTestFinished(() => server.stop());
  return server;
}
