/**
 * The pod template of a ScaledJob, checked by the API server at admission (issue 22 part 5).
 *
 * KEDA's ScaledJob webhook checks only the triggers (scaledjob-auth-webhook-chart.md §3.3): a
 * ScaledJob whose `jobTargetRef` the API server would refuse (an invalid container name, a bad
 * resource quantity) is stored, and every Job creation then fails at each poll. keda-ts asks the
 * API server instead: a dry-run create (`POST .../jobs?dryRun=All`) of the Job the controller would
 * create (`jobForScaledJob`), and a 422 Invalid answer refuses the ScaledJob with the API server's
 * causes, their field paths mapped onto the ScaledJob (`spec.template...` →
 * `spec.jobTargetRef.template...`).
 *
 * Only 422 Invalid refuses. Every other outcome (timeout, connection error, 403 because the RBAC
 * lacks `create` on jobs or a quota is exhausted, 404 for a namespace that a dry run is creating in
 * the same batch, a policy webhook's denial, 5xx) admits the ScaledJob with a warning: those are
 * about the webhook's plumbing or the cluster's state, not the template, and the controller reports
 * a Job it cannot create anyway. This is fail-open, unlike the ScaledObject target lookup (which
 * refuses with the API error because "the target does not exist" is an answer about the object);
 * it matches the webhook's own `failurePolicy: Ignore`.
 *
 * The dry run also runs for an admission that is itself a dry run (`kubectl apply
 * --dry-run=server`): it has no side effects and depends on no other object, which is why the
 * webhook's other lookups skip dry runs (#5306, #5307).
 */
import { isDeepStrictEqual } from 'node:util';
import type { ScaledJob } from '@keda-ts/api';
import { KubeApiError, type KubeClient } from '@keda-ts/k8s';
import { jobForScaledJob } from '@keda-ts/scaling';

export type JobTemplateVerdict =
  | { outcome: 'valid' }
  /** The API server refused the Job; `message` names the ScaledJob's fields. */
  | { outcome: 'invalid'; message: string }
  /** Not checked (timeout, RBAC, unreachable...); `reason` says why. */
  | { outcome: 'unchecked'; reason: string };

export interface JobTemplateChecker {
  check(sj: ScaledJob): Promise<JobTemplateVerdict>;
}

/** Bound of one dry run, queueing for the client's rate limit included (the webhook's own timeout is 10 s). */
export const JOB_DRY_RUN_TIMEOUT_MS = 3_000;

/** The Job of a dry run: the controller's Job, without the owner reference (a new ScaledJob has no uid yet). */
export function dryRunJob(sj: ScaledJob, kedaVersion: string): Record<string, unknown> {
  const job = jobForScaledJob(sj, kedaVersion) as { metadata: Record<string, unknown> };
  delete job.metadata['ownerReferences'];
  return job;
}

/** A field path of the Job, as the ScaledJob's field it comes from. */
export function scaledJobField(jobField: string): string {
  if (jobField.startsWith('spec.')) return `spec.jobTargetRef.${jobField.slice('spec.'.length)}`;
  // metadata.labels / metadata.annotations are the ScaledJob's own, copied onto the Job.
  return jobField;
}

/** The API server's refusal of the Job, worded for the ScaledJob. */
export function invalidJobMessage(err: KubeApiError): string {
  const causes = (err.details?.causes ?? []).filter((c) => c.message || c.field);
  const detail = causes.length
    ? causes.map((c) => (c.field ? `${scaledJobField(c.field)}: ${c.message ?? c.reason ?? 'invalid'}` : (c.message ?? ''))).join('; ')
    : // No causes: rewrite the paths in the message itself, after `Job.batch "<name>" is invalid: `.
      err.apiMessage.replace(/^.*? is invalid: /, '').replace(/(^|[\s[,])spec\./g, '$1spec.jobTargetRef.');
  return `spec.jobTargetRef would not make a valid Job: ${detail}`;
}

export interface KubeJobTemplateCheckerOptions {
  /** The app.kubernetes.io/version label the controller puts on its Jobs. */
  kedaVersion: string;
  timeoutMs?: number;
}

export class KubeJobTemplateChecker implements JobTemplateChecker {
  private readonly timeoutMs: number;

  constructor(
    private readonly client: KubeClient,
    private readonly options: KubeJobTemplateCheckerOptions,
  ) {
    this.timeoutMs = options.timeoutMs ?? JOB_DRY_RUN_TIMEOUT_MS;
  }

  async check(sj: ScaledJob): Promise<JobTemplateVerdict> {
    const namespace = sj.metadata?.namespace ?? '';
    const path = `/apis/batch/v1/namespaces/${encodeURIComponent(namespace)}/jobs?dryRun=All`;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<JobTemplateVerdict>((resolve) => {
      timer = setTimeout(() => resolve({ outcome: 'unchecked', reason: `the dry-run create of its Job took longer than ${this.timeoutMs} ms` }), this.timeoutMs);
    });
    const request = this.client.create(path, dryRunJob(sj, this.options.kedaVersion)).then(
      (): JobTemplateVerdict => ({ outcome: 'valid' }),
      (err: unknown): JobTemplateVerdict => {
        if (err instanceof KubeApiError && err.status === 422) return { outcome: 'invalid', message: invalidJobMessage(err) };
        const why = err instanceof KubeApiError ? `HTTP ${err.status}${err.apiMessage ? `: ${err.apiMessage}` : ''}` : err instanceof Error ? err.message : String(err);
        return { outcome: 'unchecked', reason: `the dry-run create of its Job failed (${why})` };
      },
    );
    try {
      return await Promise.race([request, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * True when an UPDATE leaves everything the Job is built from as it was: `spec.jobTargetRef` and
 * the labels and annotations copied onto the Job. Such an update (the controller adding its
 * finalizer, a trigger edit) is not checked again, so an object stored before this check existed
 * is not blocked by unrelated updates.
 */
export function jobInputsUnchanged(obj: Record<string, unknown>, old: unknown): boolean {
  if (typeof old !== 'object' || old === null) return false;
  const pick = (o: unknown) => {
    const r = o as { spec?: { jobTargetRef?: unknown }; metadata?: { labels?: unknown; annotations?: unknown; name?: unknown } };
    return [r.spec?.jobTargetRef, r.metadata?.labels ?? {}, r.metadata?.annotations ?? {}, r.metadata?.name];
  };
  return isDeepStrictEqual(pick(obj), pick(old));
}
