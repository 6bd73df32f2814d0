/**
 * A pool's or feed's `proxy` option: an HTTP proxy its dials go through with CONNECT
 * (see proxy.ts), with its check. Shared by both, and by the dial.
 *
 * Only `http://host:port` (a string or a `URL`): the proxy is spoken to in the clear, and
 * TLS to an https/wss origin runs inside the tunnel, end to end. Credentials in the URL
 * (`http://user:pass@host:port`, percent-encoded) become `Proxy-Authorization: Basic ...`;
 * they are secrets, so the checked proxy never shows them: its `origin` names it, and its
 * authorization is a non-enumerable property that no inspection, log or JSON renders.
 */
import { decodeUrlPart, urlSecrets } from '../redact.js';
import { checkUrl, invalidSaying } from '../validate.js';

/** Where a dial's CONNECT goes. */
export interface ProxyTarget {
  /** `http://host:port`: how errors name the proxy (never with its credentials). */
  readonly origin: string;
  readonly host: string;
  readonly port: number;
  /** `Basic <base64>` from the URL's credentials, or undefined. Non-enumerable: a secret. */
  readonly authorization: string | undefined;
}

/** A checked `proxy` option: the target, and its secrets for the pool's or feed's redactor. */
export interface CheckedProxy {
  target: ProxyTarget;
  /** The user name and password (as given and decoded) and the authorization value. */
  secrets: string[];
}

const KIND = 'an http://';

/**
 * `proxy` as given (a string or a `URL`), checked: an http:// URL with no path, query or
 * fragment. An https:// proxy (TLS to the proxy itself) is not supported. The URL is
 * never echoed: it may carry a password.
 */
export function checkProxy(field: string, value: unknown): CheckedProxy | undefined {
  if (value === undefined) return undefined;
  const url = checkUrl(field, value, ['http:'], KIND);
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw invalidSaying(field, `${KIND} URL without path, query or fragment (scheme://host:port)`, 'one with them');
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const target: ProxyTarget = { origin: url.origin, host, port: url.port ? Number(url.port) : 80, authorization: undefined };
  const secrets = urlSecrets(url.href);
  if (url.username || url.password) {
    const user = decodeUrlPart(url.username);
    const password = decodeUrlPart(url.password);
    if (user === undefined || password === undefined) {
      throw invalidSaying(field, `${KIND} URL whose credentials are validly percent-encoded`, 'malformed ones');
    }
    const token = Buffer.from(`${user}:${password}`).toString('base64');
    Object.defineProperty(target, 'authorization', { value: `Basic ${token}`, enumerable: false });
    secrets.push(token);
  }
  return { target: Object.freeze(target), secrets };
}
