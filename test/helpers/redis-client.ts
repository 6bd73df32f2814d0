/**
 * A node-redis client for a test's redis-server, destroyed when the test finishes. It reconnects
 * every 20 ms and refuses commands while disconnected (`disableOfflineQueue`), as the README advises.
 */
import { createClient } from 'redis';
import { onTestFinished } from 'vitest';

export async function openRedisClient(url: string) {
  const client = createClient({ url, disableOfflineQueue: true, socket: { reconnectStrategy: () => 20, connectTimeout: 500 } });
  // A client without an 'error' listener throws its connection errors; the governor sees them as failed calls.
  client.on('error', () => {});
  await client.connect();
  onTestFinished(() => {
    client.destroy();
  });
  return client;
}
