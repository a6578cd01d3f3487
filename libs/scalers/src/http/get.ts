/** A small HTTP GET on node:http/https with a whole-request timeout, an AbortSignal and a size cap. */
import { request as httpRequest, type Agent, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface HttpGetOptions {
  agent: Agent;
  headers?: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Maximum body size in bytes (default 16 MiB). */
  maxBytes?: number;
}

export interface HttpResponse {
  status: number;
  body: Buffer;
}

/** `scheme://host[:port]/path` without credentials, query or fragment: safe for messages and logs. */
export function displayUrl(url: URL | string): string {
  try {
    const u = typeof url === 'string' ? new URL(url) : url;
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '<invalid URL>';
  }
}

export class HttpGetError extends Error {
  override readonly name = 'HttpGetError';
}

export function httpGet(url: URL, options: HttpGetOptions): Promise<HttpResponse> {
  const where = `GET ${displayUrl(url)}`;
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  const maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;

  return new Promise<HttpResponse>((resolve, reject) => {
    let settled = false;
    const fail = (message: string) => {
      if (settled) return;
      settled = true;
      reject(new HttpGetError(`${where}: ${message}`));
    };
    const abortReason = () =>
      timeout.aborted ? `request timed out after ${options.timeoutMs}ms` : 'request aborted';
    if (signal.aborted) return fail(abortReason());

    const req = request(
      url,
      { method: 'GET', agent: options.agent, headers: { accept: '*/*', ...options.headers }, signal },
      (res: IncomingMessage) => {
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
          settled = true;
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) });
        });
        res.on('error', (err) => fail(signal.aborted ? abortReason() : err.message));
        res.on('aborted', () => fail(signal.aborted ? abortReason() : 'response aborted'));
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (signal.aborted) return fail(abortReason());
      fail(err.code ? `${err.code}: ${err.message}` : err.message);
    });
    req.end();
  });
}
