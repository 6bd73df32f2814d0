/**
 * The fault WebSocket server from lifeline/testing, closed when the test finishes.
 */
import { onTestFinished } from 'vitest';
import { startFaultWsServer, type FaultWsServer, type FaultWsSocket } from '../../src/testing/index.js';

export type TestWsServer = FaultWsServer;

export interface WsServerOptions {
  /** Answer pings (the default). */
  autoPong?: boolean;
  /** Called for each message, e.g. to send an acknowledgement. */
  onMessage?: (socket: FaultWsSocket, text: string) => void;
}

export async function startWsServer(options: WsServerOptions = {}): Promise<TestWsServer> {
  const server = await startFaultWsServer({ onMessage: options.onMessage });
  if (options.autoPong === false) server.answerPings(false);
  onTestFinished(() => server.close());
  return server;
}
