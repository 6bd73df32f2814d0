/**
 * The inspection options pools and feeds share: how much history to keep,
 * which values are secret, and which meter gets their metrics.
 */
import type { MeterLike } from './meter.js';
import { checkInstance, checkStrings } from '../validate.js';
import { integer, type OptionTable } from '../option-table.js';
import { METER_METHODS } from './otel.js';
import { FlightRecorder } from './recorder.js';
import { headerSecrets, Redactor, urlSecrets } from '../redact.js';
import { checkInspector, type InspectFn, type Inspector } from './inspector.js';

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
   * Typed as the part of a `Meter` lifeline uses (`MeterLike`), so lifeline's types need no
   * `@opentelemetry/api`; a real `Meter` is one.
   */
  meter?: MeterLike;
  /**
   * An XState inspector, attached to the root actor as it is created (`createActor(logic,
   * { inspect })`), so it sees the supervisor, the ledger and the slots (or the feed) from their
   * birth: a function called with each inspection event, or an observer with `next`, such as
   * `@statelyai/inspect`'s `createInspector(adapter).inspect`. What it sees holds no secret
   * (README, "What inspection never sees"). An inspector that throws does not stop the pool or
   * feed: its error is rethrown on a turn of its own. Default none.
   */
  inspect?: Inspector;
}

export interface ResolvedInspection {
  history: number;
  redactor: Redactor;
  /** `secretHeaders`, lower-cased: for secrets learnt after connect (a feed's providers). */
  secretNames: ReadonlySet<string>;
  meter: MeterLike | undefined;
  /** The `inspect` option, as one function that never throws. */
  inspect: InspectFn | undefined;
}

/** The checks of the inspection options, for a pool's or a feed's option table. */
export function inspectionChecks(defaultHistory: number) {
  return {
    history: integer(defaultHistory, { max: 100_000 }),
    secretHeaders: checkStrings,
    meter: (field: string, value: unknown) => checkInstance(field, value, METER_METHODS) as MeterLike | undefined,
    inspect: checkInspector,
  } satisfies OptionTable<InspectionOptions>;
}

/** The inspection options as checked, with the secrets of `headers` (flat) and `urls`, and `more` (a proxy's), collected for the redactor. */
export function resolveInspection(
  checked: { history: number; secretHeaders: string[]; meter: MeterLike | undefined; inspect: InspectFn | undefined },
  headers: readonly string[],
  urls: readonly string[],
  more: readonly string[] = [],
): ResolvedInspection {
  const extra = new Set(checked.secretHeaders.map((name) => name.toLowerCase()));
  const secrets = [...headerSecrets(headers, extra), ...urls.flatMap((url) => urlSecrets(url, extra)), ...more];
  return { history: checked.history, redactor: new Redactor(secrets), secretNames: extra, meter: checked.meter, inspect: checked.inspect };
}

/** The flight recorder a pool or feed asked for, or undefined when `history` is 0 (then nothing is recorded or subscribed). */
export function recorderFor(inspection: ResolvedInspection): FlightRecorder | undefined {
  if (inspection.history === 0) return undefined;
  return new FlightRecorder({ capacity: inspection.history, redactor: inspection.redactor });
}
