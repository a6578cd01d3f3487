/** ScaledJob admission (§3.3): the shared trigger checks, plus each trigger's metadata parsed by its scaler. */
import { checkScaledJob, validateScaledJob, type ScaledJob } from '@keda-ts/api';
import { allow, deny, type AdmissionRequest, type Verdict } from './review';
import { decodeObject, isFinalizerRemoval, type ValidationRecorder } from './scaledobject';
import { checkTriggerMetadata } from './triggers';

export class ScaledJobValidator {
  constructor(private readonly recorder?: ValidationRecorder) {}

  validate(req: AdmissionRequest): Verdict {
    if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return allow();
    const decoded = decodeObject(req, 'ScaledJob');
    if ('verdict' in decoded) return decoded.verdict;
    if (isFinalizerRemoval(req, true)) return allow();
    const namespace = req.namespace;
    const action = req.operation === 'CREATE' ? 'create' : 'update';
    const verdict = this.check(decoded.obj, namespace);
    // KEDA counts ScaledJob errors in the ScaledObject error counter, always as incorrect-triggers, and
    // does not count ScaledJob validations.
    if (!verdict.allowed) this.recorder?.error(namespace, action, 'incorrect-triggers');
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
