/**
 * Secrets never leave: what counts as a secret, and the scrubber every string
 * passes through before the recorder, the dashboard or a log stores it.
 *
 * Two nets, because one is not enough. By name: header values whose names
 * look secret, and URL credentials and secret-looking query parameters, are
 * collected once at connect. By value: every recorded string is searched for
 * each collected secret and the match replaced, so a secret that finds its way
 * into an error message from below (a server echoing a header, a library
 * printing a URL) is caught too.
 */

import { inspect } from 'node:util';

/**
 * Header or parameter names whose values are secret, whatever the user says. `sign` only as a
 * whole word (OKX's `OK-ACCESS-SIGN` header and login field), not inside `design` or `signal`.
 */
const SECRET_NAME = /authorization|cookie|key|token|secret|signature|password|passwd|passphrase|credential|session|(?:^|[-_.])sign(?:$|[-_.])/i;

export const REDACTED = '[redacted]';

/** Whether a header or query parameter called `name` carries a secret. */
export function isSecretName(name: string, extra: ReadonlySet<string> = new Set()): boolean {
  return SECRET_NAME.test(name) || extra.has(name.toLowerCase());
}

/** A URL as it may appear in an error or a log: scheme, host and port only (no credentials, path or query). */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return '(invalid URL)';
  }
}

/** The secret parts of a URL: its user name and password, and the values of secret-looking query parameters. */
export function urlSecrets(url: string, extra?: ReadonlySet<string>): string[] {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [];
  }
  // Both spellings: the raw one is what a library echoing the URL would print.
  const secrets = [parsed.username, parsed.password].flatMap((part) => [...new Set([part, decodeUrlPart(part) ?? part])]);
  for (const [name, value] of parsed.searchParams) if (isSecretName(name, extra)) secrets.push(value);
  return secrets;
}

/** A percent-encoded URL part decoded, or undefined when its encoding is malformed (`%E0%A4%A`). */
export function decodeUrlPart(part: string): string | undefined {
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}

/** The values of secret headers in a flat `[name, value, ...]` list. */
export function headerSecrets(flat: readonly string[], extra?: ReadonlySet<string>): string[] {
  const secrets: string[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) if (isSecretName(flat[i]!, extra)) secrets.push(flat[i + 1]!);
  return secrets;
}

/** Secrets learnt after connect (`remember`) that a redactor keeps: the newest, so a long life cannot grow it. */
export const MAX_REMEMBERED_SECRETS = 64;

/** Replaces every known secret value in a string. */
export class Redactor {
  readonly #fixed: string[];
  /** Learnt since connect, oldest first. */
  #remembered: string[] = [];
  #secrets: string[];

  constructor(secrets: Iterable<string>) {
    this.#fixed = [...secrets];
    this.#secrets = Redactor.#order(this.#fixed);
  }

  /**
   * Adds secrets known only after connect: those of a URL or headers a feed's provider
   * returned for one connect. Only the newest {@link MAX_REMEMBERED_SECRETS} are kept
   * (a provider may hand out a fresh key on every connect, for months).
   */
  remember(secrets: Iterable<string>): void {
    const fresh = [...secrets].filter((s) => s.length >= 4 && !this.#secrets.includes(s));
    if (fresh.length === 0) return;
    this.#remembered = [...this.#remembered, ...fresh].slice(-MAX_REMEMBERED_SECRETS);
    this.#secrets = Redactor.#order([...this.#fixed, ...this.#remembered]);
  }

  /**
   * Longest first, so a secret that contains another is replaced whole. Values
   * shorter than 4 characters would scrub ordinary words; none is a real secret.
   */
  static #order(secrets: string[]): string[] {
    return [...new Set(secrets)].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  }

  text(value: string): string {
    let out = value;
    for (const secret of this.#secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out;
  }
}

/**
 * Makes `value` show itself scrubbed to `util.inspect` (console.log, a REPL) and
 * `JSON.stringify`, for a value that must hold the real secrets to do its job
 * (the default headers sent with every request, a feed's URLs). The value itself
 * is unchanged; both hooks are non-enumerable.
 */
export function scrubbedView<T extends object>(value: T, redactor: Redactor): T {
  const scrub = (item: unknown): unknown =>
    typeof item === 'string' ? redactor.text(item) : Array.isArray(item) ? item.map(scrub) : item;
  const view = () => scrub(Array.isArray(value) ? [...value] : { ...value });
  Object.defineProperty(value, 'toJSON', { value: view });
  Object.defineProperty(value, inspect.custom, {
    value: (_depth: number, options: object, show: typeof inspect) => show(view(), options),
  });
  return value;
}

/**
 * A request path as it may be logged: the values of secret-looking query parameters replaced
 * (by name, `extra` holding the user's own secret names, lower-cased), then every known secret
 * value (by value, `redactor`), so a listen key in the path itself is caught too.
 */
export function redactPath(path: string, redactor: Redactor, extra?: ReadonlySet<string>): string {
  const query = path.indexOf('?');
  let out = path;
  if (query >= 0) {
    const pairs = path.slice(query + 1).split('&');
    for (let i = 0; i < pairs.length; i++) {
      const pair = pairs[i]!;
      const eq = pair.indexOf('=');
      const raw = eq < 0 ? pair : pair.slice(0, eq);
      const name = decodeUrlPart(raw.replace(/\+/g, ' ')) ?? raw;
      if (isSecretName(name, extra)) pairs[i] = `${raw}=${REDACTED}`;
    }
    out = `${path.slice(0, query)}?${pairs.join('&')}`;
  }
  return redactor.text(out);
}
