/**
 * The benchmark server (bench/server.ts) in a forked child process, so the
 * client under test has a core of its own and the server's work never counts
 * as the client's CPU.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';

export interface BenchServer {
  port: number;
  /** `http://127.0.0.1:port` */
  origin: string;
  /** `ws://127.0.0.1:port` */
  wsUrl: string;
  stop(): Promise<void>;
}

export async function startBenchServer(): Promise<BenchServer> {
  const child = fork(new URL('../server.js', import.meta.url));
  const [{ port }] = (await once(child, 'message')) as [{ port: number }];
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    async stop() {
      const exited = once(child, 'exit');
      // The server exits when its IPC channel closes (see server.ts).
      child.disconnect();
      await exited;
    },
  };
}
