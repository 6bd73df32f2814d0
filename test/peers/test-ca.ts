/**
 * A certificate authority made for one test run, and a server certificate it signed: made with the
 * `openssl` CLI in a temp folder (Node 20 has no API that makes certificates), so a real server (nginx)
 * can be handed a chain no one checked in, and a client trusts it only through `tls: { ca }`. No vitest
 * here: the bench imports it too.
 *
 *   makeTestCa({ days?, hosts? }): TestCa
 *     A CA (EC P-256, `basicConstraints = critical,CA:TRUE`, keyCertSign) and a leaf it signed for
 *     `subjectAltName = IP:127.0.0.1, DNS:localhost` (serverAuth, not a CA), each valid from now for
 *     `days` (default 1): short, since nothing outlives the run. Every call makes a new CA, so a
 *     second one is a CA that did not sign the first one's leaf (the "wrong CA" of a test).
 *
 *   TestCa: { ca (PEM), cert (PEM), key (PEM), files: { ca, cert, key }, dir, remove() }
 *     `files` are the paths of the same PEMs, for a server's config; remove() deletes the folder
 *     (idempotent; the process's 'exit' removes any left).
 *
 * openssl 3.0 (Debian bookworm's): `req -x509 -addext` for the CA, `x509 -req -extfile` for the leaf.
 * It needs `/usr/bin/openssl` (Debian's `openssl` package; `.ci/run` installs it when missing).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const OPENSSL_BIN = existsSync('/usr/bin/openssl') ? '/usr/bin/openssl' : 'openssl';

export interface TestCaOptions {
  /** Days the CA and the leaf are valid, from now. Default 1. */
  days?: number;
  /** The leaf's subjectAltName entries. Default `['IP:127.0.0.1', 'DNS:localhost']`. */
  hosts?: string[];
}

export interface TestCa {
  /** The CA's certificate (PEM): what a client passes as `tls.ca`. */
  readonly ca: string;
  /** The server's certificate (PEM), signed by the CA. */
  readonly cert: string;
  /** The server's private key (PEM). */
  readonly key: string;
  /** The same PEMs as files (`ca.pem`, `server.pem`, `server.key`), for a server's config. */
  readonly files: { readonly ca: string; readonly cert: string; readonly key: string };
  /** The temp folder holding them. */
  readonly dir: string;
  /** Deletes the folder. Idempotent. */
  remove(): void;
}

const made = new Set<string>();
let exitHookInstalled = false;

function openssl(dir: string, args: string[]): void {
  try {
    execFileSync(OPENSSL_BIN, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  } catch (error) {
    const { stderr } = error as { stderr?: Buffer };
    throw new Error(`openssl ${args[0]} failed: ${stderr?.toString().trim() || (error as Error).message}`, { cause: error });
  }
}

export function makeTestCa(options: TestCaOptions = {}): TestCa {
  const days = String(options.days ?? 1);
  const hosts = options.hosts ?? ['IP:127.0.0.1', 'DNS:localhost'];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lifeline-ca-'));
  made.add(dir);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const d of made) rmSync(d, { recursive: true, force: true });
    });
  }
  const remove = () => {
    made.delete(dir);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // A name of its own per CA: two test CAs never look like one another.
    const id = randomBytes(6).toString('hex');
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    openssl(dir, [
      'req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', days, '-sha256',
      '-subj', `/CN=lifeline test CA ${id}`,
      '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
      '-addext', 'subjectKeyIdentifier=hash',
    ]);
    openssl(dir, ['req', '-new', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', `/CN=localhost ${id}`]);
    writeFileSync(
      path.join(dir, 'server.ext'),
      [
        'basicConstraints = critical,CA:FALSE',
        'keyUsage = critical,digitalSignature',
        'extendedKeyUsage = serverAuth',
        `subjectAltName = ${hosts.join(',')}`,
        'subjectKeyIdentifier = hash',
        'authorityKeyIdentifier = keyid,issuer',
        '',
      ].join('\n'),
    );
    openssl(dir, [
      'x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', `0x${randomBytes(8).toString('hex')}`,
      '-days', days, '-sha256', '-extfile', 'server.ext', '-out', 'server.pem',
    ]);
  } catch (error) {
    remove();
    throw error;
  }
  const files = { ca: path.join(dir, 'ca.pem'), cert: path.join(dir, 'server.pem'), key: path.join(dir, 'server.key') };
  return {
    ca: readFileSync(files.ca, 'utf8'),
    cert: readFileSync(files.cert, 'utf8'),
    key: readFileSync(files.key, 'utf8'),
    files,
    dir,
    remove,
  };
}
