import { constants as h2 } from 'node:http2';
import { status } from '@grpc/grpc-js';
import { MetricsServiceError } from './errors';

/*
 * The gRPC-over-HTTP/2 wire format of one unary call, as the gRPC protocol spec (PROTOCOL-HTTP2.md)
 * defines it: a length-prefixed message each way, the status in trailers (or in the headers of a
 * trailers-only answer), and the mapping of HTTP statuses and stream resets to gRPC codes.
 */

/** grpc-js's and grpc-go's default limit on a received message. */
export const MAX_RECEIVE_MESSAGE_BYTES = 4 * 1024 * 1024;

/** One uncompressed length-prefixed message. */
export function frameMessage(message: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(5 + message.length);
  frame[0] = 0;
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

/** The single message of a unary answer; throws a {@link MetricsServiceError} when the body is not one. */
export function unframeUnaryMessage(body: Buffer, maxBytes = MAX_RECEIVE_MESSAGE_BYTES): Buffer {
  if (body.length < 5) {
    throw new MetricsServiceError(status.UNIMPLEMENTED, `the server answered a unary call with ${body.length === 0 ? 'no message' : 'a truncated message'}`);
  }
  if (body[0] !== 0) {
    throw new MetricsServiceError(status.INTERNAL, 'the server sent a compressed message, but no compression was negotiated');
  }
  const length = body.readUInt32BE(1);
  if (length > maxBytes) {
    throw new MetricsServiceError(status.RESOURCE_EXHAUSTED, `received message larger than max (${length} vs. ${maxBytes})`);
  }
  if (body.length !== 5 + length) {
    throw new MetricsServiceError(status.UNIMPLEMENTED, `the server answered a unary call with ${body.length < 5 + length ? 'a truncated message' : 'more than one message'}`);
  }
  return body.subarray(5);
}

/** `grpc-timeout` for a deadline `ms` from now: milliseconds, at most 8 digits as the spec allows. */
export function grpcTimeoutHeader(ms: number): string {
  const whole = Math.max(1, Math.ceil(ms));
  return whole < 1e8 ? `${whole}m` : `${Math.min(99_999_999, Math.ceil(whole / 1000))}S`;
}

/** `grpc-message` is percent-encoded; a malformed one is kept as sent. */
export function decodeGrpcMessage(raw: string | string[] | undefined): string {
  const text = Array.isArray(raw) ? raw.join(',') : (raw ?? '');
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The gRPC code for an HTTP status that is not 200 (gRPC's http-grpc-status-mapping). */
export function grpcCodeForHttpStatus(httpStatus: number): status {
  switch (httpStatus) {
    case 400:
      return status.INTERNAL;
    case 401:
      return status.UNAUTHENTICATED;
    case 403:
      return status.PERMISSION_DENIED;
    case 404:
      return status.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return status.UNAVAILABLE;
    default:
      return status.UNKNOWN;
  }
}

/** The status a trailers block (or the headers of a trailers-only answer) carries, if any. */
export function statusFromTrailers(trailers: Readonly<Record<string, string | string[] | undefined>>): { code: status; details: string } | undefined {
  const raw = trailers['grpc-status'];
  if (raw === undefined) return undefined;
  const code = Number(Array.isArray(raw) ? raw[0] : raw);
  if (!Number.isInteger(code) || code < 0 || code > 16) {
    return { code: status.UNKNOWN, details: `invalid grpc-status ${JSON.stringify(raw)}` };
  }
  return { code, details: decodeGrpcMessage(trailers['grpc-message']) };
}

/** The error of a stream that closed without a status (reset by the peer, or its connection gone). */
export function errorForClosedStream(rstCode: number | undefined, sessionGone: boolean): MetricsServiceError {
  if (sessionGone || rstCode === undefined) {
    return new MetricsServiceError(status.UNAVAILABLE, 'the connection to the metrics service closed before the call finished');
  }
  switch (rstCode) {
    case h2.NGHTTP2_NO_ERROR:
      return new MetricsServiceError(status.INTERNAL, 'the metrics service ended the call without a status');
    // Not processed by the server: safe to retry.
    case h2.NGHTTP2_REFUSED_STREAM:
      return new MetricsServiceError(status.UNAVAILABLE, 'the metrics service refused the call (stream refused)');
    case h2.NGHTTP2_CANCEL:
      return new MetricsServiceError(status.CANCELLED, 'the metrics service cancelled the call');
    case h2.NGHTTP2_ENHANCE_YOUR_CALM:
      return new MetricsServiceError(status.RESOURCE_EXHAUSTED, 'the metrics service reset the call (ENHANCE_YOUR_CALM)');
    case h2.NGHTTP2_INADEQUATE_SECURITY:
      return new MetricsServiceError(status.PERMISSION_DENIED, 'the metrics service reset the call (INADEQUATE_SECURITY)');
    default:
      return new MetricsServiceError(status.INTERNAL, `the metrics service reset the call with HTTP/2 error code ${rstCode}`);
  }
}
