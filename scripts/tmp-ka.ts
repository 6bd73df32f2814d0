import { ClientPool } from '../src/index.js';
import { startBenchServer } from '../bench/lib/server-process.js';
