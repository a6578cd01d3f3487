/**
 * ScaledJob admission (§3.3): the shared trigger checks, plus each trigger's metadata parsed by its
 * scaler, plus (keda-ts) the Job template checked by the API server with a dry-run create
 * (job-template.ts).
 */
import { checkScaledJob, validateScaledJob, type ScaledJob } from '@keda-ts/api';
import { jobInputsUnchanged, type JobTemplateChecker } from './job-template';
import { allow, deny, type AdmissionRequest, type Verdict } from './review';
import { decodeObject, isFinalizerRemoval, type ValidationRecorder } from './scaledobject';
import { checkTriggerMetadata } from './triggers';

export class ScaledJobValidator {
  /** `jobs`: the API server's check of the Job template; without it (tests, offline) the template is not checked. */
  constructor(
    private readonly recorder?: ValidationRecorder,
    private readonly jobs?: JobTemplateChecker,
  ) {}

  async validate(req: AdmissionRequest): Promise<Verdict> {
    if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return allow();
    const decoded = decodeObject(req, 'ScaledJob');
    if ('verdict' in decoded) return decoded.verdict;
    if (isFinalizerRemoval(req, true)) return allow();
    const namespace = req.namespace;
    const action = req.operation === 'CREATE' ? 'create' : 'update';
    let verdict = this.check(decoded.obj, namespace);
    if (verdict.allowed && this.jobs && !(req.operation === 'UPDATE' && jobInputsUnchanged(decoded.obj, req.oldObject))) {
      verdict = await this.checkJob(this.jobs, decoded.obj as unknown as ScaledJob, namespace, verdict);
    }
    // KEDA counts ScaledJob errors in the ScaledObject error counter, always as incorrect-triggers, and
    // does not count ScaledJob validations. The Job template check (keda-ts) has its own reason.
    if (!verdict.allowed) this.recorder?.error(namespace, action, verdict.reason === 'invalid-job-template' ? verdict.reason : 'incorrect-triggers');
    return verdict;
  }

  private async checkJob(jobs: JobTemplateChecker, sj: ScaledJob, namespace: string, verdict: Verdict): Promise<Verdict> {
    const withNamespace: ScaledJob = { ...sj, metadata: { ...sj.metadata, namespace: sj.metadata?.namespace || namespace } };
    const job = await jobs.check(withNamespace);
    if (job.outcome === 'invalid') return deny(job.message, 'invalid-job-template');
    if (job.outcome === 'unchecked') return allow([...(verdict.warnings ?? []), `spec.jobTargetRef was not checked by the API server: ${job.reason}`]);
    return verdict;
  }

  private check(obj: Record<string, unknown>, namespace: string): Verdict {
    const schema = validateScaledJob(obj, { unknownFields: 'ignore' });
    if (!schema.valid) {
      const detail = schema.errors.slice(0, 5).map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join('; ');
      return deny(`invalid ScaledJob: ${detail}`, 'invalid-schema');
    }
    const sj = obj as unknown as ScaledJob;
    const problem = checkScaledJob(sj)[0];
    if (problem) return deny(problem.message, 'incorrect-triggers');
    const metadata = checkTriggerMetadata(
      sj.spec.triggers,
      { kind: 'ScaledJob', namespace, name: sj.metadata?.name ?? '' },
      false,
    );
    if (metadata.findings[0]) return deny(metadata.findings[0].message, metadata.findings[0].reason);
    return allow(metadata.warnings);
  }
}
