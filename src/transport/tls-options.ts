/**
 * A pool's or feed's `tls` option: what it may hold, and its check. Shared by both,
 * and by the dial that hands it to `tls.connect`.
 */
import { checkArray, checkBoolean, checkKnownKeys, checkObject, invalid, isArray } from '../validate.js';

export interface TlsOptions {
  /** Trusted CA certificates (PEM); the system store when omitted. */
  ca?: string | Buffer | (string | Buffer)[];
  /** Client certificate and key, for mutual TLS. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Verify the server's certificate. Default true; turning it off is for tests only. */
  rejectUnauthorized?: boolean;
  /** The name to verify and send as SNI; the URL's host name when omitted. */
  servername?: string;
}

const TLS_KEYS = ['ca', 'cert', 'key', 'rejectUnauthorized', 'servername'] as const;

const isPem = (value: unknown) => typeof value === 'string' || ArrayBuffer.isView(value);

/** A PEM value, or (`list`) an array of them, copied so what tls.connect reads is what was checked. */
function checkPem(field: string, value: unknown, list: boolean): unknown {
  if (value === undefined) return undefined;
  const expected = list ? 'a PEM string or Buffer, or an array of them' : 'a PEM string or Buffer';
  if (!list || !isArray(value)) {
    if (!isPem(value)) throw invalid(field, expected, value);
    return value;
  }
  const items = checkArray(field, value, expected);
  items.forEach((item, i) => {
    if (!isPem(item)) throw invalid(`${field}[${i}]`, 'a PEM string or Buffer', item);
  });
  return items;
}

/**
 * TLS options, checked whatever the scheme (a wrong type is a bug even where it
 * is unused). `rejectUnauthorized` must be a real boolean: a falsy 0 or '' must
 * not turn certificate verification off.
 */
export function checkTls(field: string, value: unknown): TlsOptions | undefined {
  const tls = checkObject(field, value);
  if (!tls) return undefined;
  checkKnownKeys(field, tls, TLS_KEYS);
  const ca = checkPem(`${field}.ca`, tls.ca, true);
  const cert = checkPem(`${field}.cert`, tls.cert, false);
  const key = checkPem(`${field}.key`, tls.key, false);
  const servername = tls.servername;
  if (servername !== undefined && (typeof servername !== 'string' || servername === '')) {
    throw invalid(`${field}.servername`, 'a non-empty string', servername);
  }
  const checked: TlsOptions = { rejectUnauthorized: checkBoolean(`${field}.rejectUnauthorized`, tls.rejectUnauthorized, true) };
  if (ca !== undefined) checked.ca = ca as TlsOptions['ca'];
  if (cert !== undefined) checked.cert = cert as TlsOptions['cert'];
  if (key !== undefined) checked.key = key as TlsOptions['key'];
  if (servername !== undefined) checked.servername = servername;
  return checked;
}
