/**
 * The fault HTTP server from lifeline/testing, closed when the test finishes.
 */
import { onTestFinished } from 'vitest';
import { startFaultHttpServer, type FaultHttpHandler, type FaultHttpServer } from '../../src/testing/index.js';

export type TestServer = FaultHttpServer;
export type Handler = FaultHttpHandler;

export async function startHttpServer(handler?: Handler): Promise<TestServer> {
  const server = await startFaultHttpServer({ handler });
  onTestFinished(() => server.close());
  return server;
}
