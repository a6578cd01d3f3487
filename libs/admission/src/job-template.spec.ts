import type { ScaledJob } from '@keda-ts/api';
import { KubeApiError, type KubeClient } from '@keda-ts/k8s';
import { KubeJobTemplateChecker, dryRunJob, invalidJobMessage, scaledJobField } from './job-template';

const sj: ScaledJob = {
  apiVersion: 'keda.sh/v1alpha1',
  kind: 'ScaledJob',
  metadata: { name: 'work', namespace: 'ns', labels: { team: 'a' } },
  spec: { jobTargetRef: { template: { spec: { containers: [{ name: 'c', image: 'i' }] } } }, triggers: [{ type: 'cron', metadata: {} }] },
} as unknown as ScaledJob;

/** A KubeClient whose create answers with `answer` (an Error rejects), recording the calls. */
function fakeClient(answer: unknown | Error | 'hang') {
  const calls: { path: string; body: Record<string, unknown> }[] = [];
  const client = {
    create: (path: string, body: Record<string, unknown>) => {
      calls.push({ path, body });
      if (answer === 'hang') return new Promise(() => undefined);
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
    },
  } as unknown as KubeClient;
  return { client, calls };
}

const invalid422 = new KubeApiError('POST', '/apis/batch/v1/namespaces/ns/jobs', 422, 'Invalid', 'Job.batch "work-x1" is invalid: [spec.template.spec.containers[0].name: Invalid value: "Bad_Name": a lowercase RFC 1123 label must consist of ...]', {
  causes: [
    { reason: 'FieldValueInvalid', field: 'spec.template.spec.containers[0].name', message: 'Invalid value: "Bad_Name": a lowercase RFC 1123 label must consist of ...' },
    { reason: 'FieldValueInvalid', field: 'metadata.labels', message: 'Invalid value: "-x-": a valid label must be ...' },
  ],
});

describe('field paths of the Job, as the ScaledJob names them', () => {
  it.each([
    ['spec.template.spec.containers[0].name', 'spec.jobTargetRef.template.spec.containers[0].name'],
    ['spec.backoffLimit', 'spec.jobTargetRef.backoffLimit'],
    ['metadata.labels', 'metadata.labels'],
  ])('%s → %s', (job, sjField) => expect(scaledJobField(job)).toBe(sjField));

  it('words a 422 from its causes', () => {
    expect(invalidJobMessage(invalid422)).toBe(
      'spec.jobTargetRef would not make a valid Job: spec.jobTargetRef.template.spec.containers[0].name: Invalid value: "Bad_Name": a lowercase RFC 1123 label must consist of ...; metadata.labels: Invalid value: "-x-": a valid label must be ...',
    );
  });

  it('rewrites the message when the answer has no causes', () => {
    const err = new KubeApiError('POST', '/p', 422, 'Invalid', 'Job.batch "work-x1" is invalid: spec.template.spec.containers[0].resources.requests[cpu]: Invalid value: "lots": quantities must match');
    expect(invalidJobMessage(err)).toBe(
      'spec.jobTargetRef would not make a valid Job: spec.jobTargetRef.template.spec.containers[0].resources.requests[cpu]: Invalid value: "lots": quantities must match',
    );
  });
});

describe('KubeJobTemplateChecker', () => {
  it('posts the controller\'s Job as a dry run, without the owner reference of a ScaledJob that has no uid yet', async () => {
    const { client, calls } = fakeClient({ kind: 'Job' });
    expect(await new KubeJobTemplateChecker(client, { kedaVersion: '1.2.3' }).check(sj)).toEqual({ outcome: 'valid' });
    expect(calls).toHaveLength(1);
    expect(calls[0].path).toBe('/apis/batch/v1/namespaces/ns/jobs?dryRun=All');
    const job = calls[0].body as { metadata: Record<string, unknown>; spec: { template: { spec: Record<string, unknown> } } };
    expect(job.metadata['ownerReferences']).toBeUndefined();
    expect(job.metadata).toMatchObject({ generateName: 'work-', namespace: 'ns', labels: { team: 'a', 'scaledjob.keda.sh/name': 'work' } });
    expect(job.spec.template.spec['containers']).toEqual([{ name: 'c', image: 'i' }]);
    expect(dryRunJob(sj, '1.2.3')).toEqual(job);
  });

  it.each<[string, unknown, object]>([
    ['422 Invalid refuses', invalid422, { outcome: 'invalid', message: invalidJobMessage(invalid422) }],
    ['403 (no create on jobs, or a quota) does not', new KubeApiError('POST', '/p', 403, 'Forbidden', 'jobs.batch is forbidden'), { outcome: 'unchecked', reason: 'the dry-run create of its Job failed (HTTP 403: jobs.batch is forbidden)' }],
    ['404 (namespace not there yet) does not', new KubeApiError('POST', '/p', 404, 'NotFound', 'namespaces "ns" not found'), { outcome: 'unchecked' }],
    ['a 500 does not', new KubeApiError('POST', '/p', 500, '', 'boom'), { outcome: 'unchecked' }],
    ['a connection error does not', new Error('POST /p: connect ECONNREFUSED'), { outcome: 'unchecked', reason: 'the dry-run create of its Job failed (POST /p: connect ECONNREFUSED)' }],
  ])('%s', async (_name, answer, expected) => {
    const { client } = fakeClient(answer instanceof Error ? answer : answer);
    expect(await new KubeJobTemplateChecker(client, { kedaVersion: '1' }).check(sj)).toMatchObject(expected);
  });

  it('gives up after its timeout (fail-open)', async () => {
    jest.useFakeTimers();
    try {
      const { client } = fakeClient('hang');
      const verdict = new KubeJobTemplateChecker(client, { kedaVersion: '1', timeoutMs: 3000 }).check(sj);
      await jest.advanceTimersByTimeAsync(3000);
      expect(await verdict).toEqual({ outcome: 'unchecked', reason: 'the dry-run create of its Job took longer than 3000 ms' });
    } finally {
      jest.useRealTimers();
    }
  });
});
