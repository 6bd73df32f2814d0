/**
 * Servers in forked child processes, so the client under test has a core of its own and the server's
 * work never counts as the client's CPU: the benchmark server (bench/server.ts), and any other script
 * that sends `{ port }` over IPC once listening and exits when its IPC channel closes.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';

export interface ForkedServer {
  port: number;
  /** `http://127.0.0.1:port` */
  origin: string;
  stop(): Promise<void>;
}

export interface BenchServer extends ForkedServer {
  /** `ws://127.0.0.1:port` */
  wsUrl: string;
}

export async function forkServer(script: URL, args: string[] = []): Promise<ForkedServer> {
  const child = fork(script, args);
  const [{ port }] = (await once(child, 'message')) as [{ port: number }];
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    async stop() {
      const exited = once(child, 'exit');
      // The server exits when its IPC channel closes.
      child.disconnect();
      await exited;
    },
  };
}

export async function startBenchServer(): Promise<BenchServer> {
  const server = await forkServer(new URL('../server.js', import.meta.url));
  return { ...server, wsUrl: `ws://127.0.0.1:${server.port}` };
}
