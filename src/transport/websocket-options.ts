/**
 * What a feed's upgrade request offers beyond the URL: subprotocols
 * (`Sec-WebSocket-Protocol`) and permessage-deflate (RFC 7692), with their
 * checks. ws would throw a SyntaxError for a bad subprotocol on every
 * reconnect; here it is refused once, at connect, naming the field.
 */
import { TOKEN } from './headers.js';
import { checkArray, checkBoolean, checkKnownKeys, checkNumber, checkObject, invalid, invalidSaying } from '../validate.js';

/**
 * permessage-deflate parameters, as ws takes them (the subset that is safe to pass on).
 * `maxMessageSize` bounds a message after decompression, so a small compressed frame that
 * inflates past it is `MESSAGE_TOO_LARGE`, as an uncompressed one would be.
 */
export interface PerMessageDeflateOptions {
  /** Ask the server to compress each message on its own (less memory on its side, worse ratio). Default false. */
  serverNoContextTakeover?: boolean;
  /** Compress each message sent on its own. Default false. */
  clientNoContextTakeover?: boolean;
  /** The largest window (8 to 15, as a power of 2) the server may compress with. Default: the server's choice. */
  serverMaxWindowBits?: number;
  /** The largest window this side compresses with (8 to 15), or true to let the server choose. Default true. */
  clientMaxWindowBits?: number | true;
  /** Messages sent smaller than this (bytes) are not compressed. Default 1024 (ws). */
  threshold?: number;
  /** Compressions and decompressions under way at once per process (zlib runs them on the thread pool). Default 10 (ws). */
  concurrencyLimit?: number;
  /** For what this side compresses. */
  zlibDeflateOptions?: {
    /** -1 (zlib's default) to 9. */
    level?: number;
    /** 1 to 9. */
    memLevel?: number;
    /** 0 to 4 (zlib's Z_DEFAULT_STRATEGY to Z_FIXED). */
    strategy?: number;
  };
}

const DEFLATE_KEYS = [
  'serverNoContextTakeover',
  'clientNoContextTakeover',
  'serverMaxWindowBits',
  'clientMaxWindowBits',
  'threshold',
  'concurrencyLimit',
  'zlibDeflateOptions',
] as const;

const ZLIB_RANGES = { level: { min: -1, max: 9 }, memLevel: { min: 1, max: 9 }, strategy: { min: 0, max: 4 } } as const;

const PROTOCOLS = 'a subprotocol name or an array of them';

/** Subprotocols to offer, in order of preference; none when left out. Never echoed: some APIs carry a token in one. */
export function checkProtocols(field: string, value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  const one = typeof value === 'string';
  const items = one ? [value] : checkArray(field, value, PROTOCOLS);
  const seen = new Set<string>();
  items.forEach((item, i) => {
    const name = one ? field : `${field}[${i}]`;
    if (typeof item !== 'string' || !TOKEN.test(item)) throw invalid(name, 'a subprotocol name (an HTTP token)', item);
    if (seen.has(item)) throw invalidSaying(name, 'a subprotocol not offered before', 'a repeat');
    seen.add(item);
  });
  return items as string[];
}

/** `true` (ws's defaults), `false`, or the parameters; a copy of what was checked. */
export function checkPerMessageDeflate(field: string, value: unknown, fallback: boolean): boolean | PerMessageDeflateOptions {
  if (value === undefined || typeof value === 'boolean') return checkBoolean(field, value, fallback);
  if (typeof value !== 'object') throw invalid(field, 'a boolean or an object of permessage-deflate parameters', value);
  const given = checkObject(field, value)!;
  checkKnownKeys(field, given, DEFLATE_KEYS);
  const options: PerMessageDeflateOptions = {};
  const flag = (key: 'serverNoContextTakeover' | 'clientNoContextTakeover') => {
    if (given[key] !== undefined) options[key] = checkBoolean(`${field}.${key}`, given[key], false);
  };
  const count = (key: 'serverMaxWindowBits' | 'threshold' | 'concurrencyLimit', min: number, max: number) => {
    if (given[key] !== undefined) options[key] = checkNumber(`${field}.${key}`, given[key], 0, { min, max });
  };
  flag('serverNoContextTakeover');
  flag('clientNoContextTakeover');
  count('serverMaxWindowBits', 8, 15);
  count('threshold', 0, Number.MAX_SAFE_INTEGER);
  count('concurrencyLimit', 1, 1024);
  const client = given.clientMaxWindowBits;
  if (client !== undefined) options.clientMaxWindowBits = client === true ? true : checkNumber(`${field}.clientMaxWindowBits`, client, 0, { min: 8, max: 15 });
  const zlib = checkObject(`${field}.zlibDeflateOptions`, given.zlibDeflateOptions);
  if (zlib) {
    checkKnownKeys(`${field}.zlibDeflateOptions`, zlib, Object.keys(ZLIB_RANGES));
    const deflate: NonNullable<PerMessageDeflateOptions['zlibDeflateOptions']> = {};
    for (const [key, range] of Object.entries(ZLIB_RANGES) as [keyof typeof ZLIB_RANGES, { min: number; max: number }][]) {
      if (zlib[key] !== undefined) deflate[key] = checkNumber(`${field}.zlibDeflateOptions.${key}`, zlib[key], 0, range);
    }
    options.zlibDeflateOptions = deflate;
  }
  return options;
}
