/**
 * The live dashboard: a small HTTP server that shows what the pools and feeds
 * of this process are doing, as it happens.
 *
 * ```ts
 * await using dashboard = await serveDashboard({ pools: [pool], feeds: [feed] });
 * console.log(`dashboard on ${dashboard.url}`);   // http://127.0.0.1:<port>/
 * ```
 *
 * ```
 *  GET /              one self-contained page (inline CSS and JS, nothing fetched from elsewhere)
 *  GET /events        Server-Sent Events: snapshot, then record (each state change) and stats (every 500 ms)
 *  GET /history.json  every flight recorder's history
 * ```
 *
 * Loopback by default: the page is for the operator of this machine. Nothing it
 * serves can carry a secret (see dashboard-view.ts).
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { LifelineError } from '../errors.js';
import { feedRecorder, type Feed } from '../feed/feed.js';
import { poolRecorder, type ClientPool } from '../pool/client-pool.js';
import { checkKnownKeys, checkNumber, checkObject, invalid } from '../validate.js';
import { dashboardPage, LOG_ROWS } from './page.js';
import { DASHBOARD_SCRIPT } from './script.js';
import { dashboardView, feedId, historyView, poolId, recentRecords, type Watched } from './view.js';
import { EventStream } from './event-stream.js';
import { FEED_CHART, SLOT_CHART } from './charts.js';
import { pageMachines } from './machines.js';
import type { PageMachines } from './protocol.js';

export interface DashboardOptions {
  /** Pools to show. Default none. */
  pools?: ClientPool[];
  /** Feeds to show. Default none. */
  feeds?: Feed[];
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** Address to listen on. Default {@link DEFAULT_DASHBOARD_HOST}: loopback, so only this machine can see it. */
  host?: string;
}

export const DEFAULT_DASHBOARD_HOST = '127.0.0.1';

/** How often the counters and times in state are pushed to each open page (ms). */
export const STATS_INTERVAL = 500;

export interface Dashboard extends AsyncDisposable {
  /** `http://host:port/`. */
  readonly url: string;
  readonly port: number;
  /** Ends every open stream and stops the server. Idempotent. */
  close(): Promise<void>;
}

const OPTION_KEYS = ['pools', 'feeds', 'port', 'host'] as const;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** Pools or feeds, recognised by the methods the dashboard reads (a duplicate copy of the package passes too). */
function checkWatched<T>(field: string, value: unknown, kind: string, methods: readonly string[]): T[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid(field, `an array of ${kind}s`, value);
  value.forEach((item: unknown, i) => {
    const ok = typeof item === 'object' && item !== null && methods.every((m) => typeof (item as Record<string, unknown>)[m] === 'function');
    if (!ok) throw invalid(`${field}[${i}]`, `a ${kind}`, item);
  });
  return [...(value as T[])];
}

function resolveOptions(options: unknown): Watched & { port: number; host: string } {
  const checked = checkObject('options', options) ?? {};
  checkKnownKeys('', checked, OPTION_KEYS);
  const host = checked.host ?? DEFAULT_DASHBOARD_HOST;
  if (typeof host !== 'string' || host === '') throw invalid('host', 'a non-empty string', host);
  return {
    pools: checkWatched<ClientPool>('pools', checked.pools, 'ClientPool', ['stats', 'history']),
    feeds: checkWatched<Feed>('feeds', checked.feeds, 'Feed', ['stats', 'history']),
    port: checkNumber('port', checked.port, 0, { max: 65_535 }),
    host,
  };
}

class LiveDashboard implements Dashboard {
  /** Set once listening, and kept after close (a closed server has no address). */
  port = 0;
  url = '';
  readonly #server: http.Server;
  readonly #host: string;
  readonly #watched: Watched;
  readonly #page: string;
  /** What the page is told about the machines: taken from their definitions once. */
  readonly #machines: PageMachines;
  readonly #headers: http.OutgoingHttpHeaders;
  readonly #streams = new Set<EventStream>();
  readonly #loopback: boolean;
  #timer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;

  constructor(watched: Watched, host: string) {
    this.#watched = watched;
    this.#host = host;
    this.#loopback = LOOPBACK.has(host);
    this.#machines = pageMachines();
    this.#page = dashboardPage([
      { template: this.#machines.pool.chart, svg: SLOT_CHART },
      { template: this.#machines.feed.chart, svg: FEED_CHART },
    ]);
    // The browser enforces what the page promises: no script but its own, no request to anywhere else.
    const scriptHash = createHash('sha256').update(DASHBOARD_SCRIPT).digest('base64');
    this.#headers = {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': `default-src 'none'; script-src 'sha256-${scriptHash}'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'`,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    };
    this.#server = http.createServer((req, res) => this.#route(req, res));
  }

  /** Rejects with `LISTEN_FAILED` when the address cannot be listened on (in use, not this machine's). */
  listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', (error: NodeJS.ErrnoException) => {
        const why = error.code ?? error.message;
        reject(new LifelineError('LISTEN_FAILED', `could not listen on \`host\` ${this.#host} \`port\` ${port}: ${why}`, { cause: error }));
      });
      this.#server.listen(port, this.#host, () => {
        this.port = (this.#server.address() as AddressInfo).port;
        this.url = `http://${this.#host.includes(':') ? `[${this.#host}]` : this.#host}:${this.port}/`;
        resolve();
      });
    });
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #route(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (this.#closing) return void res.writeHead(503).end();
    // A web page the operator visits could point a name it controls at 127.0.0.1 (DNS
    // rebinding) and read the dashboard; on loopback, answer only requests addressed to loopback.
    if (this.#loopback && !LOOPBACK.has(hostnameOf(req.headers.host))) return void res.writeHead(403).end();
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD' }).end();
    const path = new URL(req.url ?? '/', 'http://dashboard').pathname;
    switch (path) {
      case '/':
        return void res.writeHead(200, this.#headers).end(this.#page);
      case '/history.json':
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
        return void res.end(JSON.stringify(historyView(this.#watched)));
      case '/events':
        // A HEAD gets the stream's headers, not a stream that would never end.
        if (req.method === 'HEAD') return void res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' }).end();
        return this.#stream(res);
      default:
        return void res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found');
    }
  }

  #stream(res: http.ServerResponse): void {
    const stream = new EventStream(res);
    this.#streams.add(stream);
    stream.onClose(() => this.#streams.delete(stream));
    // Subscribe before the snapshot is taken, in the same turn: no record falls between the two.
    const { pools, feeds } = this.#watched;
    const sources = [
      ...pools.map((pool, i) => [poolId(i), poolRecorder(pool)] as const),
      ...feeds.map((feed, i) => [feedId(i), feedRecorder(feed)] as const),
    ];
    for (const [source, recorder] of sources) {
      if (!recorder) continue;
      stream.onClose(recorder.onRecord((record) => stream.send('record', { ...record, source })));
    }
    stream.send('snapshot', { ...dashboardView(this.#watched), history: recentRecords(this.#watched, LOG_ROWS), logRows: LOG_ROWS, machines: this.#machines });
    this.#tick();
  }

  /** One timer for all streams, running only while one is open. */
  #tick(): void {
    if (this.#timer || this.#streams.size === 0) return;
    this.#timer = setInterval(() => {
      if (this.#streams.size === 0) {
        clearInterval(this.#timer);
        this.#timer = undefined;
        return;
      }
      const view = dashboardView(this.#watched);
      for (const stream of this.#streams) stream.send('stats', view);
    }, STATS_INTERVAL).unref();
  }

  async #close(): Promise<void> {
    clearInterval(this.#timer);
    for (const stream of [...this.#streams]) stream.close();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    // Keep-alive sockets of a tab would hold the server open until they time out.
    this.#server.closeAllConnections();
    await closed;
  }
}

function hostnameOf(host: string | undefined): string {
  try {
    return new URL(`http://${host ?? ''}`).hostname;
  } catch {
    return '';
  }
}

/**
 * Serves the live dashboard of `pools` and `feeds` on `http://host:port/`.
 * Throws `INVALID_OPTIONS` for a bad option, and `LISTEN_FAILED` when the address cannot be listened on.
 */
export async function serveDashboard(options: DashboardOptions = {}): Promise<Dashboard> {
  const { port, host, ...watched } = resolveOptions(options);
  const dashboard = new LiveDashboard(watched, host);
  await dashboard.listen(port);
  return dashboard;
}
