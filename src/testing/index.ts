/**
 * lifeline-supervisor/testing: what a user needs to test their own reconnect paths against
 * real sockets: fault-injecting HTTP and WebSocket servers for loopback, a state
 * log for a pool slot or a feed, and model-based test paths from a machine, with
 * the machines themselves, their state helpers and backoff schedules (the main
 * entry, "lifeline-supervisor", has only what an application calls).
 */
export { startFaultHttpServer, FaultHttpServer, type FaultHttpServerOptions, type FaultHttpHandler } from './fault-http-server.js';
export { startFaultWsServer, FaultWsServer, type FaultWsServerOptions, type FaultWsSocket, type ClosedWsConnection } from './fault-ws-server.js';
export { FaultServer } from './fault-server.js';
export { HeldResponses } from './held-responses.js';
export type { LoggedRequest } from './request-log.js';
export { StateLog, logSlot, logFeed } from './state-log.js';
export { toTestMachine, modelEventName, transitionKey, type TestMachine, type ModelTransition, type ModelSource } from './model.js';
export { composeMachines, type ComposeOptions } from './compose.js';
export {
  machinePaths,
  pathFromEvents,
  distinctPaths,
  type MachinePaths,
  type MachinePathsOptions,
  type ModelPath,
  type ModelSnapshot,
  type ModelStep,
} from './paths.js';
export {
  createPathRunner,
  describePath,
  describeEvent,
  regionState,
  PathFailure,
  DEFAULT_STEP_TIMEOUT,
  type PathSystem,
  type PathRunner,
  type PathRunnerOptions,
  type PathRun,
} from './path-runner.js';
export { formatHistory, type HasHistory } from './history.js';
export { seededRandom } from './seeded-random.js';
export { testSeed, DEFAULT_TEST_SEED } from './seed.js';

// The machines, for machinePaths and for tests of their own
export {
  slotMachine,
  slotState,
  SLOT_STABLE_AFTER,
  type SlotConnection,
  type ConnectionEnd,
  type SlotCounts,
  type ConnectionDialer,
  type DialOutcome,
} from '../machines/slot.js';
export { supervisorMachine } from '../machines/supervisor.js';
export { feedMachine, feedState, FEED_STABLE_AFTER } from '../machines/feed.js';
export {
  createBackoff,
  ceilingDelay,
  SLOT_BACKOFF,
  FEED_BACKOFF,
  type BackoffPolicy,
  type BackoffDefaults,
} from '../machines/backoff.js';
