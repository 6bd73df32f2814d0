/**
 * Real servers from Debian on 127.0.0.1, for the tests and the bench: nginx, python3's http.server
 * and haproxy, each a child process of its own in a temp folder of its own. They model the normal life
 * of connections (Connection: close every N responses, HTTP/1.0, idle timeouts, graceful reloads),
 * which the fault servers of `lifeline/testing` do not. No vitest here: the bench imports it too.
 *
 * API (kept stable; other branches merge it):
 *
 *   startNginx({ config?, main?, workers? }): Promise<ReloadableServer>
 *     /usr/sbin/nginx, not a daemon (`-p <dir> -c <dir>/nginx.conf -g 'daemon off; pid ...; error_log ...;'`).
 *     `config`: directives for the server block, e.g. 'keepalive_requests 10;' or 'keepalive_timeout 1s 1s;'.
 *     `main`: directives for the main context, e.g. 'worker_shutdown_timeout 1s;'. `workers`: worker
 *     processes, default 1. Serves `GET /` -> 200 "ok", and `POST /post` (any body up to 16 MiB, read and
 *     dropped) -> 200 "ok". Every response carries `x-worker: <worker pid>`. Runs its workers as root when
 *     run as root.
 *   startPythonHttpServer(): Promise<RealServer>
 *     `python3 -m http.server --bind 127.0.0.1 <port> --protocol HTTP/1.0` serving a temp folder:
 *     `GET /` -> 200 "ok" (index.html). HTTP/1.0: the server closes the connection after every
 *     response. No POST (it answers 501).
 *   startHaproxy({ config?, main? }): Promise<ReloadableServer>
 *     /usr/sbin/haproxy in master-worker mode (`-W -db`), answering by itself (no backend):
 *     `GET /` and `POST /post` -> 200 "ok", with `x-worker`. `config`: lines for its frontend (e.g.
 *     'timeout http-keep-alive 1s'); `main`: lines for its defaults section.
 *
 *   RealServer: { kind, url ('http://127.0.0.1:<port>'), port, pid, dir, log(), stop() }
 *     stop() always kills the whole process group (SIGTERM, SIGKILL after 2 s), waits for the exit and
 *     removes the folder; it is idempotent and never rejects.
 *   ReloadableServer adds reload(): a graceful reload (nginx SIGHUP, haproxy SIGUSR2, sent again each
 *     second until it takes) that resolves once a fresh connection was served by a new worker and no
 *     old worker accepts any more (bounded: it rejects after 10 s),
 *     and `reloads`, the count of reloads done.
 *   startTinyproxy({ basicAuth?, connectPorts?, config? }): Promise<ProxyServer>
 *     /usr/bin/tinyproxy in the foreground (`-d -c <dir>/tinyproxy.conf`), an HTTP proxy on
 *     127.0.0.1 whose CONNECT reaches any port (or only `connectPorts`: others get 403). `basicAuth`:
 *     { user, password } required of every client (else 407). `config`: more lines for its config.
 *     `url` is `http://127.0.0.1:<port>` (no credentials); `requests()` lists the request lines it
 *     logged (`CONNECT 127.0.0.1:4000 HTTP/1.1`), from its whole log, in order. Ready once it answers
 *     a request for its stats host (200, or 407 with basicAuth).
 *   available(kind): whether that server is installed (for `describe.skipIf`).
 *   stopAllRealServers(): stops every server still running (an afterAll's safety net).
 *   launchNginx(spec), tempDir(kind): nginx's start-up, for a launcher in a file of its own (nginx-h2.ts:
 *     nginx over TLS with HTTP/2); its server is stopped by stopAllRealServers() too.
 *
 * Ports: found by binding 127.0.0.1:0 and closing; a start that loses the port race is retried.
 * Readiness: a GET / over a fresh connection answered 200, polled every 20 ms, for 10 s at most.
 * No orphans: each server runs in its own process group, a watchdog shell kills that group when this
 * process dies (whatever the signal), and this process's 'exit' kills every group still running.
 * Use from vitest: `const nginx = await startNginx(...); afterAll(() => nginx.stop());`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export type RealServerKind = 'nginx' | 'python' | 'haproxy' | 'tinyproxy';

export interface RealServer {
  readonly kind: RealServerKind;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** The pid of the process started (nginx's and haproxy's master); its process group has the same id. */
  readonly pid: number;
  /** The server's temp folder (config, logs, pid file, served files); removed by stop(). */
  readonly dir: string;
  /** The last 4 KiB of the server's own log (its stderr, and nginx's error_log). */
  log(): string;
  /** Kills the server's whole process group and removes its folder. Idempotent; never rejects. */
  stop(): Promise<void>;
}

export interface ReloadableServer extends RealServer {
  /** A graceful reload; resolves once new workers serve fresh connections. */
  reload(): Promise<void>;
  /** Reloads done. */
  readonly reloads: number;
}

export interface NginxOptions {
  /** Directives for the server block: `keepalive_requests 10;`, `keepalive_timeout 1s 1s;`. */
  config?: string;
  /** Directives for the main context: `worker_shutdown_timeout 1s;`. */
  main?: string;
  /** Worker processes; default 1. */
  workers?: number;
}

export interface HaproxyOptions {
  /** Lines for the frontend section. */
  config?: string;
  /** Lines for the defaults section (e.g. `timeout http-keep-alive 1s`). */
  main?: string;
}

export interface TinyproxyOptions {
  /** Credentials every client must send (`Proxy-Authorization: Basic`), else 407. */
  basicAuth?: { user: string; password: string };
  /** The only ports CONNECT may reach (others get 403). Default: every port. */
  connectPorts?: number[];
  /** More lines for the config file. */
  config?: string;
}

export interface ProxyServer extends RealServer {
  /** The request lines the proxy logged (`CONNECT 127.0.0.1:4000 HTTP/1.1`), in order, from its whole log. */
  requests(): string[];
}

export const NGINX_BIN = '/usr/sbin/nginx';
export const TINYPROXY_BIN = '/usr/bin/tinyproxy';
export const HAPROXY_BIN = '/usr/sbin/haproxy';
/** Debian's python3 when present, else the first on PATH. */
export const PYTHON_BIN = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

const READY_TIMEOUT = 10_000;
const RELOAD_TIMEOUT = 10_000;
const RESIGNAL_AFTER = 1_000;
const STOP_GRACE = 2_000;
const PROBE_TIMEOUT = 1_000;
const START_ATTEMPTS = 3;
const LOG_TAIL = 4_096;

export function available(kind: RealServerKind): boolean {
  switch (kind) {
    case 'nginx':
      return existsSync(NGINX_BIN);
    case 'haproxy':
      return existsSync(HAPROXY_BIN);
    case 'tinyproxy':
      return existsSync(TINYPROXY_BIN);
    case 'python':
      return PYTHON_BIN === 'python3' ? (process.env.PATH ?? '').split(':').some((dir) => existsSync(path.join(dir, 'python3'))) : true;
  }
}

// ---- process bookkeeping: nothing outlives this process ----

interface Running {
  child: ChildProcess;
  watchdog: ChildProcess | undefined;
  dir: string;
  stop(): Promise<void>;
}

const running = new Set<Running>();
let exitHookInstalled = false;

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const r of running) {
      killGroup(r.child.pid, 'SIGKILL');
      if (r.watchdog?.pid !== undefined) killGroup(r.watchdog.pid, 'SIGKILL');
      rmSync(r.dir, { recursive: true, force: true });
    }
  });
}

/**
 * A detached shell that kills the server's process group when this process dies (a SIGKILL included,
 * which no 'exit' hook sees), and then removes its folder, or when the server's first process does
 * (its orphaned workers).
 */
function startWatchdog(serverPid: number, dir: string): ChildProcess {
  const script = `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${serverPid} 2>/dev/null; do sleep 0.2; done; kill -KILL -${serverPid} 2>/dev/null; kill -0 ${process.pid} 2>/dev/null || rm -rf "$1"`;
  const watchdog = spawn('/bin/sh', ['-c', script, 'watchdog', dir], { detached: true, stdio: 'ignore' });
  watchdog.on('error', () => {});
  watchdog.unref();
  return watchdog;
}

/** A port free on 127.0.0.1 a moment ago (bound to :0 and closed). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The last `length` characters of a file ('' when it is not there yet). */
function tail(file: string, length = LOG_TAIL): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.length > length ? text.slice(-length) : text;
  } catch {
    return '';
  }
}

interface ProbeResult {
  status: number;
  worker: string | undefined;
}

/** One GET over a fresh connection (`Connection: close`). */
export function probe(port: number, urlPath = '/'): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false, timeout: PROBE_TIMEOUT }, (res) => {
      res.resume();
      res.on('end', () => {
        const worker = res.headers['x-worker'];
        resolve({ status: res.statusCode ?? 0, worker: typeof worker === 'string' ? worker : undefined });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('probe timed out')));
    req.on('error', reject);
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The pids whose parent is `pid` (nginx's and haproxy's workers), from /proc. */
function childrenOf(pid: number): Set<number> {
  const found = new Set<number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so parse after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === pid) found.add(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

interface LaunchSpec {
  kind: RealServerKind;
  dir: string;
  command: string;
  /** The arguments for a port. */
  args(port: number): string[];
  /** Writes the config for a port (before each attempt). */
  prepare?(port: number): void;
  /** Log files besides the captured stdout/stderr. */
  logs?: string[];
  /** Whether the server answers on `port` (default: a GET / answered 200). */
  ready?(port: number): Promise<boolean>;
}

export interface Launched {
  child: ChildProcess;
  port: number;
  log(): string;
  stop(): Promise<void>;
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `signal ${signal}` : `code ${code}`;
}

async function launch(spec: LaunchSpec): Promise<Launched> {
  installExitHook();
  const outFile = path.join(spec.dir, 'output.log');
  const log = () =>
    [outFile, ...(spec.logs ?? [])]
      .map((file) => tail(file))
      .filter((t) => t.length > 0)
      .join('\n');
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    const port = await freePort();
    spec.prepare?.(port);
    const fd = openSync(outFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(spec.command, spec.args(port), { cwd: spec.dir, detached: true, stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    const entry: Running = { child, watchdog: undefined, dir: spec.dir, stop: () => stop() };
    running.add(entry);
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let spawnError: Error | undefined;
    const exit = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        exited = { code, signal };
        resolve();
      });
      child.once('error', (error) => {
        spawnError = error;
        exited ??= { code: null, signal: null };
        resolve();
      });
    });
    child.unref();
    if (child.pid !== undefined) entry.watchdog = startWatchdog(child.pid, spec.dir);

    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        killGroup(child.pid, 'SIGTERM');
        await Promise.race([exit, sleep(STOP_GRACE)]);
        // Always: the workers of a master that exited, or a master that ignored SIGTERM.
        killGroup(child.pid, 'SIGKILL');
        await Promise.race([exit, sleep(STOP_GRACE)]);
        killGroup(entry.watchdog?.pid, 'SIGKILL');
        running.delete(entry);
      })());

    const deadline = performance.now() + READY_TIMEOUT;
    while (exited === undefined && performance.now() < deadline) {
      try {
        const ready = spec.ready ? await spec.ready(port) : (await probe(port)).status === 200;
        if (ready) return { child, port, log, stop };
      } catch {
        // Not listening yet.
      }
      await sleep(20);
    }
    const reason = spawnError
      ? `could not start: ${spawnError.message}`
      : exited
        ? `exited (${describeExit(exited.code, exited.signal)})`
        : `not ready after ${READY_TIMEOUT} ms`;
    lastError = new Error(`${spec.kind} on 127.0.0.1:${port} ${reason}\n${log()}`);
    await stop();
    // Only a lost port race is worth another try (tinyproxy says only "Could not create listening sockets").
    if (spawnError || !/address already in use|cannot bind|could not create listening/i.test(log())) break;
  }
  rmSync(spec.dir, { recursive: true, force: true });
  throw lastError ?? new Error(`${spec.kind} did not start`);
}

export function tempDir(kind: RealServerKind): string {
  return mkdtempSync(path.join(os.tmpdir(), `lifeline-${kind}-`));
}

function realServer(kind: RealServerKind, dir: string, launched: Launched): RealServer {
  return {
    kind,
    url: `http://127.0.0.1:${launched.port}`,
    port: launched.port,
    pid: launched.child.pid!,
    dir,
    log: launched.log,
    async stop() {
      await launched.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Whether a process still accepts connections as one of the old workers: it exists, is no zombie, and
 * does not call itself "shutting down" (nginx retitles a worker so once it has closed its listeners).
 */
function stillServing(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
    return !readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('shutting down');
  } catch {
    return false;
  }
}

/**
 * Signals a reload and waits until a fresh connection is served by a new worker and no old worker
 * accepts any more (each has exited or, for nginx, says it is shutting down).
 */
function reloadable(server: RealServer, signal: NodeJS.Signals): ReloadableServer {
  let reloads = 0;
  return {
    ...server,
    get reloads() {
      return reloads;
    },
    async reload() {
      const old = childrenOf(server.pid);
      const deadline = performance.now() + RELOAD_TIMEOUT;
      // haproxy's master, just started, sometimes drops a SIGUSR2 (measured: about 1 start in 3 under
      // vitest), so the signal is sent again while only old workers answer; a second reload is harmless.
      let signalled = Number.NEGATIVE_INFINITY;
      let served = false;
      for (;;) {
        const now = performance.now();
        if (now > deadline) throw new Error(`${server.kind}: reload not done within ${RELOAD_TIMEOUT} ms\n${server.log()}`);
        if (!served && now - signalled >= RESIGNAL_AFTER) {
          process.kill(server.pid, signal);
          signalled = now;
        }
        try {
          const answer = await probe(server.port);
          const pid = Number(answer.worker);
          served ||= answer.status === 200 && Number.isInteger(pid) && !old.has(pid);
        } catch {
          // Between workers: try again.
        }
        if (served && ![...old].some(stillServing)) break;
        await sleep(10);
      }
      reloads++;
    },
  };
}

const isRoot = () => process.getuid?.() === 0;

/** What an nginx of a launcher's own is: its temp folder, workers, main-context directives and http block. */
export interface NginxSpec {
  dir: string;
  workers: number;
  /** Directives for the main context. */
  main?: string;
  /** The http block's own directives and server blocks, for the port tried (the temp paths are added). */
  http(port: number): string;
  /** Whether it answers on `port` (default: a plain GET / answered 200). */
  ready?(port: number): Promise<boolean>;
}

/**
 * Starts /usr/sbin/nginx, not a daemon, in `spec.dir` (its config, pid file, error log and temp paths
 * there), writing its config for each port tried. Its workers run as root when this process does. For
 * startNginx and the launchers in files of their own (nginx-h2.ts: nginx over TLS with HTTP/2).
 */
export function launchNginx(spec: NginxSpec): Promise<Launched> {
  const { dir } = spec;
  const conf = path.join(dir, 'nginx.conf');
  const errorLog = path.join(dir, 'error.log');
  return launch({
    kind: 'nginx',
    dir,
    command: NGINX_BIN,
    logs: [errorLog],
    prepare(port) {
      writeFileSync(
        conf,
        `${isRoot() ? 'user root;\n' : ''}worker_processes ${spec.workers};
${spec.main ?? ''}
events { worker_connections 4096; }
http {
  client_body_temp_path ${path.join(dir, 'body')};
  proxy_temp_path ${path.join(dir, 'proxy')};
  fastcgi_temp_path ${path.join(dir, 'fastcgi')};
  uwsgi_temp_path ${path.join(dir, 'uwsgi')};
  scgi_temp_path ${path.join(dir, 'scgi')};
${spec.http(port)}
}
`,
      );
    },
    args: () => ['-p', dir, '-e', errorLog, '-c', conf, '-g', `daemon off; pid ${path.join(dir, 'nginx.pid')}; error_log ${errorLog} notice;`],
    ready: spec.ready,
  });
}

export async function startNginx(options: NginxOptions = {}): Promise<ReloadableServer> {
  const dir = tempDir('nginx');
  const launched = await launchNginx({
    dir,
    workers: options.workers ?? 1,
    main: options.main,
    http: (port) => `  access_log off;
  default_type text/plain;
  server {
    listen 127.0.0.1:${port};
    add_header x-worker $pid always;
    ${options.config ?? ''}
    location = /post {
      client_max_body_size 16m;
      client_body_buffer_size 1m;
      return 200 "ok";
    }
    location / { return 200 "ok"; }
  }`,
  });
  return reloadable(realServer('nginx', dir, launched), 'SIGHUP');
}

export async function startPythonHttpServer(): Promise<RealServer> {
  const dir = tempDir('python');
  // A folder of its own to serve: not the server's log.
  const root = path.join(dir, 'www');
  mkdirSync(root);
  writeFileSync(path.join(root, 'index.html'), 'ok');
  const launched = await launch({
    kind: 'python',
    dir,
    command: PYTHON_BIN,
    args: (port) => ['-m', 'http.server', '--bind', '127.0.0.1', String(port), '--protocol', 'HTTP/1.0', '--directory', root],
  });
  return realServer('python', dir, launched);
}

export async function startHaproxy(options: HaproxyOptions = {}): Promise<ReloadableServer> {
  const dir = tempDir('haproxy');
  const conf = path.join(dir, 'haproxy.cfg');
  const launched = await launch({
    kind: 'haproxy',
    dir,
    command: HAPROXY_BIN,
    prepare(port) {
      writeFileSync(
        conf,
        `global
  maxconn 4096
defaults
  mode http
  timeout client 30s
  timeout connect 5s
  timeout server 30s
${options.main ?? ''}
frontend fe
  bind 127.0.0.1:${port}
  option http-buffer-request
  ${options.config ?? ''}
  http-after-response set-header x-worker %pid
  http-request return status 200 content-type text/plain string ok
`,
      );
    },
    args: () => ['-W', '-db', '-f', conf],
  });
  return reloadable(realServer('haproxy', dir, launched), 'SIGUSR2');
}

/**
 * tinyproxy's config for `port`. No `User`: run as root, tinyproxy warns and stays root, which is what a
 * test wants. It has no Port 0, hence launch()'s free port and retry.
 */
function tinyproxyConfig(port: number, logFile: string, options: TinyproxyOptions): string {
  const lines = [`Port ${port}`, 'Listen 127.0.0.1', 'Timeout 60', 'MaxClients 256', `LogFile "${logFile}"`, 'LogLevel Connect'];
  if (options.basicAuth) lines.push(`BasicAuth ${options.basicAuth.user} ${options.basicAuth.password}`);
  for (const allowed of options.connectPorts ?? []) lines.push(`ConnectPort ${allowed}`);
  return `${lines.join('\n')}\n${options.config ?? ''}\n`;
}

export async function startTinyproxy(options: TinyproxyOptions = {}): Promise<ProxyServer> {
  const dir = tempDir('tinyproxy');
  const files = { conf: path.join(dir, 'tinyproxy.conf'), log: path.join(dir, 'tinyproxy.log') };
  const launched = await launch({
    kind: 'tinyproxy',
    dir,
    command: TINYPROXY_BIN,
    logs: [files.log],
    prepare: (port) => writeFileSync(files.conf, tinyproxyConfig(port, files.log, options)),
    args: () => ['-d', '-c', files.conf],
    // A plain GET / would be proxied to 127.0.0.1:<port>, itself; its stats host answers at once.
    ready: async (port) => (await probe(port, 'http://tinyproxy.stats/')).status > 0,
  });
  return {
    ...realServer('tinyproxy', dir, launched),
    requests: () => [...tail(files.log, Infinity).matchAll(/Request \(file descriptor \d+\): (.*)$/gm)].map((match) => match[1]!),
  };
}

/** Stops every server still running (an afterAll's safety net; the 'exit' hook covers the rest). */
export async function stopAllRealServers(): Promise<void> {
  await Promise.all(
    [...running].map(async (r) => {
      await r.stop();
      rmSync(r.dir, { recursive: true, force: true });
    }),
  );
}
