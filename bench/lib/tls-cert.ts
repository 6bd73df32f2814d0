/**
 * A throwaway self-signed certificate for 127.0.0.1 and localhost, made with the `openssl` CLI into a
 * fresh temporary directory: the TLS servers of the bench (node:http2, and nginx's h2 over TLS) read
 * the files, the clients trust the certificate through their `ca` option. Valid for two days, EC P-256
 * (a handshake costs little). `remove()` deletes the directory.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface BenchCert {
  dir: string;
  certPath: string;
  keyPath: string;
  /** PEM, for the clients' `ca` and for servers in Node. */
  cert: string;
  key: string;
  remove(): void;
}

export function makeBenchCert(): BenchCert {
  const dir = mkdtempSync(join(tmpdir(), 'lifeline-bench-tls-'));
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  try {
    // -addext for both extensions: the same certificate whatever openssl.cnf the system has (or none).
    execFileSync(
      'openssl',
      [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', '/CN=lifeline bench 127.0.0.1',
        '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-addext', 'basicConstraints=critical,CA:TRUE',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`bench: openssl could not make a self-signed certificate (is the openssl CLI installed?): ${(error as Error).message}`, { cause: error });
  }
  return {
    dir,
    certPath,
    keyPath,
    cert: readFileSync(certPath, 'utf8'),
    key: readFileSync(keyPath, 'utf8'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
