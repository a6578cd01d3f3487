/** A small HTTP GET on node:http/https with a whole-request timeout, an AbortSignal and a size cap. */
import { request as httpRequest, type Agent, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { displayUrl } from '@keda-ts/scaler-sdk';
import { LocalError, safeErrorText } from '../upstream-errors';
import { EgressHttpAgent, EgressHttpsAgent } from '../net/egress-connect';
import { defaultEgressPolicy, EgressDeniedError, type EgressPolicy } from '../net/egress-policy';
import type { ScalerTelemetry } from '../context';

export interface HttpGetOptions {
  agent: Agent;
  headers?: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Maximum body size in bytes (default 16 MiB). */
  maxBytes?: number;
  /** Default GET; POST is for token endpoints (kafka's oauthbearer). */
  method?: 'GET' | 'POST';
  /** Request body (with POST). */
  body?: string;
  /** The egress policy; defaults to the agent's (an agent from the pool carries one), else the default policy. */
  egress?: EgressPolicy;
  /** Told of every request that leaves the process: its status (or 'error') and time to the response headers. */
  telemetry?: Pick<ScalerTelemetry, 'httpRequest'>;
}

export interface HttpResponse {
  status: number;
  body: Buffer;
}


/** Its message names the request and what failed, never bytes the server sent. */
export class HttpGetError extends LocalError {
  override readonly name = 'HttpGetError';
}

/**
 * One GET. Redirects are not followed (node:http never does): a 3xx is returned as is, so a
 * redirect cannot lead past the egress policy.
 */
export function httpGet(url: URL, options: HttpGetOptions): Promise<HttpResponse> {
  const where = `${options.method ?? 'GET'} ${displayUrl(url)}`;
  const maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const external = options.signal;
  if (external?.aborted) return Promise.reject(new HttpGetError(`${where}: request aborted`));
  // The agent checks too; this refuses an IP literal or metadata name before a request exists.
  const agent = options.agent;
  const egress =
    options.egress ?? (agent instanceof EgressHttpAgent || agent instanceof EgressHttpsAgent ? agent.policy : defaultEgressPolicy);
  const denied = egress.hostError(url.hostname);
  if (denied) return Promise.reject(new HttpGetError(`${where}: ${denied.message}`));

  return new Promise<HttpResponse>((resolve, reject) => {
    let settled = false;
    let timedOut = false;
    const abortReason = () => (timedOut ? `request timed out after ${options.timeoutMs}ms` : 'request aborted');
    const aborted = () => timedOut || Boolean(external?.aborted);

    // Once per request: the status when the headers arrive, else 'error' (no response at all).
    const started = performance.now();
    let reported = false;
    const report = (status: number | 'error') => {
      if (reported || !options.telemetry) return;
      reported = true;
      options.telemetry.httpRequest(status, (performance.now() - started) / 1000);
    };
    const req = request(url, { method: options.method ?? 'GET', agent, headers: { accept: '*/*', ...options.headers } }, (res: IncomingMessage) => {
      report(res.statusCode ?? 'error');
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) {
          fail(`response body exceeds ${maxBytes} bytes`);
          res.destroy();
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => {
        if (settled) return;
        settle();
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) });
      });
      res.on('error', (err) => fail(aborted() ? abortReason() : safeErrorText(err)));
      res.on('aborted', () => fail(aborted() ? abortReason() : 'response aborted'));
    });
    // A plain timer, cleared when the request settles, rather than AbortSignal.timeout: those fire
    // after every request that ended in time, each building a DOMException with a stack trace
    // (measured: several % of the controller's CPU at a few hundred reads per second).
    const timer = setTimeout(() => {
      timedOut = true;
      fail(abortReason());
      req.destroy();
    }, options.timeoutMs);
    const onExternalAbort = () => {
      fail('request aborted');
      req.destroy();
    };
    function settle(): void {
      settled = true;
      clearTimeout(timer);
      external?.removeEventListener('abort', onExternalAbort);
    }
    function fail(message: string): void {
      if (settled) return;
      settle();
      reject(new HttpGetError(`${where}: ${message}`));
    }
    external?.addEventListener('abort', onExternalAbort, { once: true });
    req.on('error', (err: NodeJS.ErrnoException) => {
      report('error');
      if (aborted()) return fail(abortReason());
      if (err instanceof EgressDeniedError) return fail(err.message);
      // Codes and our own address only: TLS and parser messages can quote the server.
      fail(safeErrorText(err));
    });
    req.end(options.body);
  });
}

export { displayUrl };
