/**
 * The inspection options pools and feeds share: how much history to keep, and
 * which values are secret.
 */
import { checkNumber, checkStrings } from '../validate.js';
import { FlightRecorder, type RecorderOptions } from './recorder.js';
import { headerSecrets, Redactor, urlSecrets } from './redact.js';

export interface InspectionOptions {
  /**
   * State changes kept per slot or feed by the flight recorder; 0 turns recording off.
   * Feeds: default 100 (`DEFAULT_HISTORY`). Pools: default 0, because the recorder
   * listens through XState's inspection API, which builds a record for every event of the
   * system, leases included: about +1 us per try+release cycle (0.5 us without, 1.5 us with);
   * turn it on where that is affordable.
   */
  history?: number;
  /** Header names whose values are secret, beyond those that look it (authorization, cookie, *key*, *token*, *secret*, *signature*...). */
  secretHeaders?: string[];
}

export interface ResolvedInspection {
  history: number;
  redactor: Redactor;
}

export const INSPECTION_KEYS = ['history', 'secretHeaders'] as const;

/** Reads the inspection options, collecting the secrets of `headers` (flat) and `urls`. */
export function resolveInspection(
  options: Record<string, unknown>,
  headers: readonly string[],
  urls: readonly string[],
  defaultHistory: number,
): ResolvedInspection {
  const extra = new Set(checkStrings('secretHeaders', options.secretHeaders).map((name) => name.toLowerCase()));
  const secrets = [...headerSecrets(headers, extra), ...urls.flatMap((url) => urlSecrets(url, extra))];
  return {
    history: checkNumber('history', options.history, defaultHistory, { max: 100_000 }),
    redactor: new Redactor(secrets),
  };
}

/** The flight recorder a pool or feed asked for, or undefined when `history` is 0 (then no inspector is attached at all). */
export function recorderFor(
  inspection: ResolvedInspection,
  identify: RecorderOptions['identify'],
  stateOf: RecorderOptions['stateOf'],
): FlightRecorder | undefined {
  if (inspection.history === 0) return undefined;
  return new FlightRecorder({ capacity: inspection.history, redactor: inspection.redactor, identify, stateOf });
}
