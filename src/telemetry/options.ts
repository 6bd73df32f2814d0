/**
 * The inspection options pools and feeds share: how much history to keep,
 * which values are secret, and which meter gets their metrics.
 */
import type { Meter } from '@opentelemetry/api';
import { checkInstance, checkNumber, checkStrings } from '../validate.js';
import { METER_METHODS } from './otel.js';
import { FlightRecorder } from './recorder.js';
import { headerSecrets, Redactor, urlSecrets } from '../redact.js';

export interface InspectionOptions {
  /**
   * State changes kept per slot or feed by the flight recorder; 0 turns recording off.
   * Default 100 (`DEFAULT_HISTORY`, `DEFAULT_POOL_HISTORY`). A pool's recorder watches its
   * slot actors rather than inspecting the system, so leases (ledger events) cost nothing more.
   */
  history?: number;
  /** Header names whose values are secret, beyond those that look it (authorization, cookie, *key*, *token*, *secret*, *signature*...). */
  secretHeaders?: string[];
  /**
   * An OpenTelemetry `Meter` (`@opentelemetry/api`, an optional peer dependency) for the
   * pool's or feed's instruments: slots by state, acquire waits, request durations,
   * reconnects, feed messages and staleness (see the README's Metrics section). Default none.
   */
  meter?: Meter;
}

export interface ResolvedInspection {
  history: number;
  redactor: Redactor;
  meter: Meter | undefined;
}

export const INSPECTION_KEYS = ['history', 'secretHeaders', 'meter'] as const;

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
    meter: checkInstance('meter', options.meter, METER_METHODS) as Meter | undefined,
  };
}

/** The flight recorder a pool or feed asked for, or undefined when `history` is 0 (then nothing is recorded or subscribed). */
export function recorderFor(inspection: ResolvedInspection): FlightRecorder | undefined {
  if (inspection.history === 0) return undefined;
  return new FlightRecorder({ capacity: inspection.history, redactor: inspection.redactor });
}
