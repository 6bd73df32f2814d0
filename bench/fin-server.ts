// The FIN server (bench/lib/fin-server.ts) in its own process: argv[2] is N, the responses after which
// each connection is ended. Prints its port to the parent over IPC; exits when the IPC channel closes.
import { listenFinServer } from './lib/fin-server.js';

const server = await listenFinServer(Number(process.argv[2]));
process.send?.({ port: server.port });
process.on('disconnect', () => process.exit(0));
