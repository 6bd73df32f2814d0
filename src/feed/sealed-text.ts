/**
 * Sealed texts: a feed's URLs and subscription messages as its machine holds
 * them. Machine input, context and events are what an XState inspector sees,
 * and inspectors serialise what they see: JSON (`@statelyai/inspect`), util.inspect
 * (console.log), or a walk over own properties (superjson). A sealed text keeps
 * the real text in a private field, which none of them reads, and shows itself
 * scrubbed to the first two; only the opener and the socket call `reveal()`.
 *
 * How each is shown:
 * - a URL: with its credentials and secret query parameters `[redacted]`;
 * - a JSON message: with the value of every field whose name looks secret (as a
 *   header's does, `secretHeaders` included) `[redacted]`, and every known secret too;
 * - any other message: not at all, only its length (nothing tells what in it is secret).
 */
import { inspect } from 'node:util';
import type { SealedText } from '../machines/feed.js';
import { isSecretName, REDACTED, Redactor, urlSecrets } from '../redact.js';
import type { ResolvedInspection } from '../telemetry/options.js';

class Sealed implements SealedText {
  readonly #text: string;
  readonly #show: (text: string) => string;

  constructor(text: string, show: (text: string) => string) {
    this.#text = text;
    this.#show = show;
  }

  /** The text itself: for the socket, never for a log. */
  reveal(): string {
    return this.#text;
  }

  toJSON(): string {
    return this.#show(this.#text);
  }

  toString(): string {
    return this.#show(this.#text);
  }

  [inspect.custom](_depth: number, options: object, show: typeof inspect): string {
    return show(this.#show(this.#text), options);
  }
}

/** A feed URL, sealed: shown with its own secrets replaced, and any the redactor knows. */
export function sealUrl(url: string, inspection: ResolvedInspection): SealedText {
  const own = new Redactor(urlSecrets(url, inspection.secretNames));
  return new Sealed(url, (text) => inspection.redactor.text(own.text(text)));
}

/**
 * A message the feed sends (a subscription, an unsubscribe), sealed. The values of its JSON
 * fields that look secret are told to the redactor too, so a server or library that echoes
 * one into an error message has it scrubbed there as well.
 */
export function sealMessage(message: string, inspection: ResolvedInspection): SealedText {
  const json = parseJson(message);
  if (json === undefined) return new Sealed(message, (text) => `[a message of ${text.length} characters, not JSON: not shown]`);
  const secrets: string[] = [];
  const shown = JSON.stringify(scrub(json, inspection.secretNames, secrets));
  inspection.redactor.remember(secrets);
  return new Sealed(message, () => inspection.redactor.text(shown));
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** `value` with every secret-named field's value replaced; the strings replaced go to `secrets`. */
function scrub(value: unknown, names: ReadonlySet<string>, secrets: string[]): unknown {
  if (Array.isArray(value)) return value.map((item) => scrub(item, names, secrets));
  if (typeof value !== 'object' || value === null) return value;
  // fromEntries, not assignment: a `__proto__` field stays a field.
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => {
      if (!isSecretName(key, names)) return [key, scrub(item, names, secrets)];
      collectStrings(item, secrets);
      return [key, REDACTED];
    }),
  );
}

function collectStrings(value: unknown, into: string[]): void {
  if (typeof value === 'string') into.push(value);
  else if (typeof value === 'object' && value !== null) for (const item of Object.values(value)) collectStrings(item, into);
}
