/**
 * The HTTP endpoint Prometheus scrapes: GET /metrics (exposition text) and GET /healthz (200
 * when the control loop is healthy, 503 with the reason otherwise). Nothing else is served.
 * close() stops listening and drops idle keep-alive connections, so shutdown is not held up
 * by a scraper's open connection.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Health {
  ok: boolean;
  /** One line saying why not, or what is fine. */
  detail: string;
}

export interface MetricsServerOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  render(): Promise<string>;
  contentType: string;
  health(): Health;
  /** Called when rendering fails; the scrape gets a 500. */
  onError?(error: unknown): void;
}

export interface MetricsServer {
  /** The address actually bound. */
  readonly address: { host: string; port: number };
  close(): Promise<void>;
}

function reply(res: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
  res.end(body);
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' && path !== '/healthz') return reply(res, 404, 'not found: try /metrics or /healthz\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return reply(res, 405, 'method not allowed\n');
    }
    if (path === '/healthz') {
      const h = options.health();
      return reply(res, h.ok ? 200 : 503, `${h.ok ? 'ok' : 'unhealthy'}: ${h.detail}\n`);
    }
    try {
      reply(res, 200, await options.render(), options.contentType);
    } catch (e) {
      options.onError?.(e);
      reply(res, 500, `metrics unavailable: ${(e as Error).message}\n`);
    }
  };
  const server = createServer((req, res) => void handle(req, res));
  // A scrape that stalls must not pin a socket forever.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host || undefined, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  return {
    address: { host: bound.address, port: bound.port },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      }),
  };
}
