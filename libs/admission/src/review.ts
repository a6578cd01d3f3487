/**
 * AdmissionReview v1 (admission.k8s.io/v1) in and out. The request is untrusted input: every field
 * is checked before use, and anything that cannot be answered as an AdmissionReview is an
 * `AdmissionInputError` (the HTTP layer answers 400).
 */

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';
export const ADMISSION_KIND = 'AdmissionReview';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
const OPERATIONS: readonly string[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/** The parts of AdmissionRequest the webhook uses, already type-checked. */
export interface AdmissionRequest {
  uid: string;
  kind?: GroupVersionKind;
  operation: Operation;
  namespace: string;
  name: string;
  /** The object as sent; still untrusted in shape (validated per kind). */
  object: unknown;
  oldObject: unknown;
  dryRun: boolean;
}

export interface AdmissionStatus {
  code: number;
  message: string;
  reason?: string;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: AdmissionStatus;
  warnings?: string[];
}

export interface AdmissionReviewOut {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: typeof ADMISSION_KIND;
  response: AdmissionResponse;
}

/** The body cannot be answered with an AdmissionReview: the HTTP layer replies 400 with this message. */
export class AdmissionInputError extends Error {
  override readonly name = 'AdmissionInputError';
}

/** Longest uid accepted (Kubernetes sends a 36-character UUID). */
const MAX_UID_LENGTH = 128;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const optionalString = (v: unknown): string => (typeof v === 'string' ? v : '');

/** Checks the envelope of a decoded AdmissionReview and returns its request. */
export function parseAdmissionReview(body: unknown): AdmissionRequest {
  if (!isRecord(body)) throw new AdmissionInputError('request body must be a JSON object (an AdmissionReview)');
  if (body['kind'] !== ADMISSION_KIND) {
    throw new AdmissionInputError(`expected kind ${ADMISSION_KIND}, got ${describe(body['kind'])}`);
  }
  if (body['apiVersion'] !== ADMISSION_API_VERSION) {
    throw new AdmissionInputError(`expected apiVersion ${ADMISSION_API_VERSION}, got ${describe(body['apiVersion'])}`);
  }
  const request = body['request'];
  if (!isRecord(request)) throw new AdmissionInputError('AdmissionReview has no request');
  const uid = request['uid'];
  if (typeof uid !== 'string' || uid === '' || uid.length > MAX_UID_LENGTH) {
    throw new AdmissionInputError('AdmissionReview request.uid must be a non-empty string');
  }
  const operation = request['operation'];
  if (typeof operation !== 'string' || !OPERATIONS.includes(operation)) {
    throw new AdmissionInputError(`AdmissionReview request.operation must be one of ${OPERATIONS.join(', ')}`);
  }
  const kind = request['kind'];
  const gvk = isRecord(kind)
    ? { group: optionalString(kind['group']), version: optionalString(kind['version']), kind: optionalString(kind['kind']) }
    : undefined;
  return {
    uid,
    kind: gvk,
    operation: operation as Operation,
    namespace: optionalString(request['namespace']),
    name: optionalString(request['name']),
    object: request['object'] ?? undefined,
    oldObject: request['oldObject'] ?? undefined,
    dryRun: request['dryRun'] === true,
  };
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 64 ? `${v.slice(0, 64)}…` : v);
  if (v === undefined) return 'nothing';
  return v === null ? 'null' : typeof v;
}

export function reviewResponse(response: AdmissionResponse): AdmissionReviewOut {
  return { apiVersion: ADMISSION_API_VERSION, kind: ADMISSION_KIND, response };
}

/** The outcome of one validation. */
export interface Verdict {
  allowed: boolean;
  /** Why it was rejected (sent to the client). */
  message?: string;
  /** Metrics label of the failed check. */
  reason?: string;
  /** HTTP-like status code of a rejection; 403 (Forbidden) by default, 400 for undecodable objects. */
  code?: number;
  warnings?: string[];
}

export const allow = (warnings?: string[]): Verdict =>
  warnings && warnings.length > 0 ? { allowed: true, warnings } : { allowed: true };

export const deny = (message: string, reason: string, code = 403): Verdict => ({ allowed: false, message, reason, code });

/** Longest message returned to the API server (it shows it to kubectl users). */
const MAX_MESSAGE_LENGTH = 4096;

export function verdictResponse(uid: string, verdict: Verdict): AdmissionResponse {
  const response: AdmissionResponse = { uid, allowed: verdict.allowed };
  if (!verdict.allowed) {
    const message = verdict.message ?? 'rejected';
    response.status = {
      code: verdict.code ?? 403,
      message: message.length > MAX_MESSAGE_LENGTH ? `${message.slice(0, MAX_MESSAGE_LENGTH)}…` : message,
      reason: (verdict.code ?? 403) === 400 ? 'BadRequest' : 'Forbidden',
    };
  }
  if (verdict.warnings && verdict.warnings.length > 0) response.warnings = verdict.warnings.slice(0, 20);
  return response;
}
