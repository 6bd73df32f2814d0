/**
 * Debian's nginx speaking HTTP/2 over TLS (its http_v2 and http_ssl modules), on a certificate from
 * a test CA made for it (`test-ca.ts`): a real HTTP/2 peer no one here wrote (issue 19), reloaded as
 * an operator reloads it. No vitest here: the bench imports it too.
 *
 *   startNginxH2({ workers?, config?, main?, testCa? }): Promise<NginxH2>
 *     /usr/sbin/nginx, not a daemon, in a temp prefix of its own (as `startNginx` in real-servers.ts),
 *     on `https://127.0.0.1:<free port>`: `listen ... ssl http2` (nginx before 1.25.1) or
 *     `listen ... ssl; http2 on;` (1.25.1 and later), ALPN `h2` and `http/1.1`. It answers by itself,
 *     reading no upstream:
 *       any path      -> 200 "<method> <uri> <protocol>", e.g. "GET /x HTTP/2.0" (`$server_protocol`)
 *       /status       -> nginx's stub_status (connections accepted and open; see `counts()`)
 *     Every response carries `x-worker: <worker pid>` and `x-protocol: <protocol>`. Request bodies (up
 *     to 16 MiB) are discarded. Every request is logged to `access.log` as
 *     "<method> <uri> <status> <protocol> <worker pid>" (`requests()`).
 *     `workers`: worker processes, default 2. `config`: more directives for the server block;
 *     `main`: for the main context. `testCa`: the CA and certificate to serve (default: a new one,
 *     removed by stop()).
 *
 *   NginxH2: { url, port, pid, dir, ca, testCa, reload(), reloads, drained(), requests(), counts(), log(), stop() }
 *     `ca`: the CA's PEM, what a client passes as `tls: { ca }`.
 *     reload(): SIGHUP to the master (what `nginx -s reload` sends, by the pid file), then waits, with no
 *       connection of its own, until a new worker runs and no old one accepts (each has exited or calls
 *       itself "shutting down": it has closed its listener; each of its HTTP/2 connections gets a GOAWAY
 *       (NO_ERROR) once none of its streams is being processed, and it exits when they have all ended).
 *       Rejects after 10 s.
 *     drained(): resolves once every worker replaced by a reload has exited (its connections all ended).
 *     counts(): connections nginx accepted and still holds open since this call (stub_status, over TLS,
 *       its own reads left out): `nginxCounts` of connection-counts.ts.
 *     stop(): as real-servers.ts: the whole process group, then the folders. Idempotent, never rejects.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import type { CountConnections } from '../helpers/normal-ends.js';
import { exited, nginxCounts, reloadNginx } from './connection-counts.js';
import { NGINX_BIN, launchNginx, tempDir, type Launched } from './real-servers.js';
import { makeTestCa, type TestCa } from './test-ca.js';

export interface NginxH2Options {
  /** Worker processes; default 2. */
  workers?: number;
  /** More directives for the server block. */
  config?: string;
  /** Directives for the main context (e.g. `worker_shutdown_timeout 1s;`). */
  main?: string;
  /** The CA and certificate to serve; default a new one, removed by stop(). */
  testCa?: TestCa;
}

export interface NginxH2 {
  /** `https://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** The master's pid (its process group's id). */
  readonly pid: number;
  readonly dir: string;
  /** The CA's certificate (PEM): `tls: { ca }`. */
  readonly ca: string;
  readonly testCa: TestCa;
  /** A graceful reload (SIGHUP); resolves once a new worker runs and no old one accepts. */
  reload(): Promise<void>;
  /** Reloads done. */
  readonly reloads: number;
  /** Resolves once every worker a reload replaced has exited. */
  drained(timeout?: number): Promise<void>;
  /** The access log's lines, in order: "<method> <uri> <status> <protocol> <worker pid>". */
  requests(): string[];
  /** Connections nginx accepted and holds open from now on (stub_status; its own reads left out). */
  counts(): Promise<CountConnections>;
  /** The last 4 KiB of nginx's logs. */
  log(): string;
  stop(): Promise<void>;
}

/** Whether this nginx takes `http2 on;` (1.25.1 and later) rather than `listen ... http2` (deprecated there). */
let http2Directive: boolean | undefined;

/**
 * Whether this nginx takes `http2 on;`, from `nginx -V` (written to stderr), which must also show the
 * http_v2 and http_ssl modules: a build without them is a broken set-up, said so rather than a config error.
 */
export function nginxHasHttp2Directive(): boolean {
  if (http2Directive !== undefined) return http2Directive;
  const { stderr } = spawnSync(NGINX_BIN, ['-V'], { encoding: 'utf8' });
  const match = /nginx\/(\d+)\.(\d+)\.(\d+)/.exec(stderr ?? '');
  if (!match) throw new Error(`cannot read the version of ${NGINX_BIN}: ${stderr}`);
  for (const module of ['--with-http_v2_module', '--with-http_ssl_module']) {
    if (!stderr.includes(module)) throw new Error(`${NGINX_BIN} was built without ${module} (nginx -V)`);
  }
  const [major, minor, patch] = match.slice(1).map(Number) as [number, number, number];
  return (http2Directive = major > 1 || (major === 1 && (minor > 25 || (minor === 25 && patch >= 1))));
}

/** One GET over TLS (HTTP/1.1, a connection of its own) trusting `ca`: the status and body. */
export function fetchTls(port: number, ca: string, urlPath: string, timeout = 2_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path: urlPath, ca, agent: false, timeout }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${urlPath} timed out`)));
    req.on('error', reject);
  });
}

export async function startNginxH2(options: NginxH2Options = {}): Promise<NginxH2> {
  const testCa = options.testCa ?? makeTestCa();
  const ownCa = options.testCa === undefined;
  const dir = tempDir('nginx');
  const accessLog = path.join(dir, 'access.log');
  let launched: Launched;
  try {
    const h2on = nginxHasHttp2Directive();
    launched = await launchNginx({
      dir,
      workers: options.workers ?? 2,
      main: options.main,
      http: (port) => `  log_format lifeline '$request_method $request_uri $status $server_protocol $pid';
  access_log ${accessLog} lifeline;
  default_type text/plain;
  server {
    ${h2on ? `listen 127.0.0.1:${port} ssl;\n    http2 on;` : `listen 127.0.0.1:${port} ssl http2;`}
    ssl_certificate ${testCa.files.cert};
    ssl_certificate_key ${testCa.files.key};
    ssl_protocols TLSv1.2 TLSv1.3;
    client_max_body_size 16m;
    client_body_buffer_size 1m;
    add_header x-worker $pid always;
    add_header x-protocol $server_protocol always;
    ${options.config ?? ''}
    location = /status { access_log off; stub_status; }
    location / { return 200 "$request_method $request_uri $server_protocol"; }
  }`,
      ready: async (port) => (await fetchTls(port, testCa.ca, '/status', 1_000)).status === 200,
    });
  } catch (error) {
    if (ownCa) testCa.remove();
    throw error;
  }
  const pid = launched.child.pid!;
  const port = launched.port;
  const replaced: number[] = [];
  let reloads = 0;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    pid,
    dir,
    ca: testCa.ca,
    testCa,
    get reloads() {
      return reloads;
    },
    async reload() {
      const { old } = await reloadNginx(pid);
      replaced.push(...old);
      reloads++;
    },
    drained: (timeout = 10_000) => exited([...replaced], timeout),
    requests() {
      try {
        return readFileSync(accessLog, 'utf8').split('\n').filter((line) => line.length > 0);
      } catch {
        return [];
      }
    },
    counts: () => nginxCounts(port, async (urlPath) => {
      const { status, body } = await fetchTls(port, testCa.ca, urlPath);
      if (status !== 200) throw new Error(`GET ${urlPath}: ${status} ${body}`);
      return body;
    }),
    log: launched.log,
    async stop() {
      await launched.stop();
      rmSync(dir, { recursive: true, force: true });
      if (ownCa) testCa.remove();
    },
  };
}
