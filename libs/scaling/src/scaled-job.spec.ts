import type { ScaledJob } from '@keda-ts/api';
import {
  combineScalerJobMetrics,
  countJobs,
  historyJobsToDelete,
  jobForScaledJob,
  jobsToCreate,
  oldGenerationJobs,
  scaledJobDecision,
  scaledJobScalingSettings,
  scalerJobMetrics,
  type JobLike,
  type JobsToCreateInput,
  type PodLike,
  type ScalerReadingForJobs,
} from './scaled-job';

/** One active scaler with one metric: queue length and target. */
const reading = (queue: number, target: number, isActive = queue > 0): ScalerReadingForJobs => ({
  specs: [{ metricName: 's0-rabbitmq-q', averageValue: target }],
  values: [{ metricName: 's0-rabbitmq-q', value: queue }],
  isActive,
});

const sj = (spec: Partial<ScaledJob['spec']> = {}): ScaledJob => ({
  metadata: { name: 'worker', namespace: 'ns', generation: 3, uid: 'u-1' },
  spec: { jobTargetRef: { template: { spec: { containers: [{ name: 'c', image: 'busybox' }] } } } as never, triggers: [{ type: 'rabbitmq', metadata: {} }], ...spec },
});

/** Whole-pipeline cases: the spec's worked examples (§1.6). */
const examples: { name: string; spec: Partial<ScaledJob['spec']>; readings: ScalerReadingForJobs[]; running: number; pending?: number; create: number }[] = [
  { name: '1 default: queue 10, target 1, max 3, running 0 -> 3', spec: { maxReplicaCount: 3 }, readings: [reading(10, 1)], running: 0, create: 3 },
  { name: '1 default: next tick, running 3 -> 0', spec: { maxReplicaCount: 3 }, readings: [reading(10, 1)], running: 3, create: 0 },
  { name: '1 default: one finished, running 2 -> 1', spec: { maxReplicaCount: 3 }, readings: [reading(10, 1)], running: 2, create: 1 },
  { name: '2 default: queue 4, target 5, max 3 -> 1', spec: { maxReplicaCount: 3 }, readings: [reading(4, 5)], running: 0, create: 1 },
  { name: '3 default: queue 10, target 2, max 100 -> 5', spec: { maxReplicaCount: 100 }, readings: [reading(10, 2)], running: 0, create: 5 },
  {
    name: '4 custom: deduction 1, percentage 0.5, queue 10, max 10, running 4 -> 7',
    spec: { maxReplicaCount: 10, scalingStrategy: { strategy: 'custom', customScalingQueueLengthDeduction: 1, customScalingRunningJobPercentage: '0.5' } },
    readings: [reading(10, 1)],
    running: 4,
    create: 7,
  },
  {
    name: '4 custom with an empty percentage falls back to default -> 6',
    spec: { maxReplicaCount: 10, scalingStrategy: { strategy: 'custom', customScalingQueueLengthDeduction: 1, customScalingRunningJobPercentage: '' } },
    readings: [reading(10, 1)],
    running: 4,
    create: 6,
  },
  {
    name: '4 custom with an unparsable percentage falls back to default -> 6',
    spec: { maxReplicaCount: 10, scalingStrategy: { strategy: 'custom', customScalingRunningJobPercentage: 'half' } },
    readings: [reading(10, 1)],
    running: 4,
    create: 6,
  },
  { name: '5 accurate: queue 4, running 0 -> 4', spec: { maxReplicaCount: 10, scalingStrategy: { strategy: 'accurate' } }, readings: [reading(4, 1)], running: 0, create: 4 },
  { name: '5 accurate: queue 4, running 4 -> 4', spec: { maxReplicaCount: 10, scalingStrategy: { strategy: 'accurate' } }, readings: [reading(4, 1)], running: 4, create: 4 },
  { name: '5 accurate: queue 4, running 8 -> 2', spec: { maxReplicaCount: 10, scalingStrategy: { strategy: 'accurate' } }, readings: [reading(4, 1)], running: 8, create: 2 },
  {
    name: '5 accurate with pending: maxScale 3, running 4, pending 2 -> 1',
    spec: { maxReplicaCount: 10, scalingStrategy: { strategy: 'accurate' } },
    readings: [reading(3, 1)],
    running: 4,
    pending: 2,
    create: 1,
  },
  { name: '6 eager: queue 4, running 0 -> 4', spec: { maxReplicaCount: 10, scalingStrategy: { strategy: 'eager' } }, readings: [reading(4, 1)], running: 0, create: 4 },
  { name: '6 eager: queue 4, running 4 -> 4', spec: { maxReplicaCount: 10, scalingStrategy: { strategy: 'eager' } }, readings: [reading(4, 1)], running: 4, create: 4 },
  { name: '6 default in the same state -> 0', spec: { maxReplicaCount: 10 }, readings: [reading(4, 1)], running: 4, create: 0 },
  { name: '6 eager: queue 8, running 8 -> 2', spec: { maxReplicaCount: 10, scalingStrategy: { strategy: 'eager' } }, readings: [reading(8, 1)], running: 8, create: 2 },
  { name: '7 min 2, max 4: tick 1 running 0 -> 2 (min)', spec: { minReplicaCount: 2, maxReplicaCount: 4 }, readings: [reading(3, 1)], running: 0, create: 2 },
  { name: '7 min 2, max 4: tick 2 running 2 -> 2', spec: { minReplicaCount: 2, maxReplicaCount: 4 }, readings: [reading(3, 1)], running: 2, create: 2 },
  { name: '7 min 2, max 4: tick 3 running 4 -> 0', spec: { minReplicaCount: 2, maxReplicaCount: 4 }, readings: [reading(3, 1)], running: 4, create: 0 },
  { name: '7 min 2, max 1: only 1 Job ever (tick 1)', spec: { minReplicaCount: 2, maxReplicaCount: 1 }, readings: [reading(3, 1)], running: 0, create: 1 },
  { name: '7 min 2, max 1: no demand after the min Job -> 0', spec: { minReplicaCount: 2, maxReplicaCount: 1 }, readings: [reading(0, 1)], running: 1, create: 0 },
  // The spec's prose says "only 1 Job ever"; its formula (r = running - effMin = 0, effMax 1) allows one more with demand.
  { name: '7 min 2, max 1: demand 3 after the min Job -> 1 by the formula', spec: { minReplicaCount: 2, maxReplicaCount: 1 }, readings: [reading(3, 1)], running: 1, create: 1 },
  { name: '7 min 1, max 10, queue 1: 1 for min', spec: { minReplicaCount: 1, maxReplicaCount: 10 }, readings: [reading(1, 1)], running: 0, create: 1 },
  { name: '7 min 1, max 10, queue 1: then 1 more', spec: { minReplicaCount: 1, maxReplicaCount: 10 }, readings: [reading(1, 1)], running: 1, create: 1 },
  { name: 'min with no demand keeps the SJ active: min 1 + running 1, queue 0 -> 0', spec: { minReplicaCount: 1 }, readings: [reading(0, 1)], running: 1, create: 0 },
  { name: 'inactive scaler -> 0', spec: { maxReplicaCount: 10 }, readings: [reading(5, 1, false)], running: 0, create: 0 },
  { name: 'max unset: effMax 100 (min not subtracted)', spec: { minReplicaCount: 5 }, readings: [reading(500, 1)], running: 5, create: 100 },
  { name: 'issue flow: 7 messages, max 10 -> 7', spec: { maxReplicaCount: 10 }, readings: [reading(7, 1)], running: 0, create: 7 },
  { name: 'issue flow: 20 more, 7 running, default -> 3', spec: { maxReplicaCount: 10 }, readings: [reading(20, 1)], running: 7, create: 3 },
];

describe('ScaledJob decision: the worked examples', () => {
  it.each(examples)('$name', (c) => {
    const settings = scaledJobScalingSettings(sj(c.spec));
    const decision = scaledJobDecision(settings, c.readings, { running: c.running, pending: c.pending ?? 0 });
    expect(decision.count).toBe(c.create);
  });
});

describe('jobsToCreate: unit cases', () => {
  const base: JobsToCreateInput = { strategy: 'eager', scaleTo: 0, maxScale: 0, isActive: true, running: 0, pending: 0, effMin: 0, effMax: 10 };
  it.each([
    [{ maxScale: 4, running: 3, pending: 0 }, 4],
    [{ maxScale: 4, running: 1, pending: 6 }, 3],
    [{ maxScale: 15, running: 0, pending: 0 }, 10],
  ])('eager %j -> %d', (over, expected) => {
    expect(jobsToCreate({ ...base, scaleTo: over.maxScale, ...over }).count).toBe(expected);
  });
  it('clamps a negative effectiveMax to 0 and says all jobs exist', () => {
    expect(jobsToCreate({ ...base, strategy: 'default', scaleTo: 3, maxScale: 3, running: 9 })).toEqual({ count: 0, rule: 'all-exist', effectiveMax: 0 });
  });
  it('custom truncates running x percentage toward zero', () => {
    expect(jobsToCreate({ ...base, strategy: 'custom', scaleTo: 10, maxScale: 10, running: 3, runningJobPercentage: 0.9, queueLengthDeduction: 0 }).count).toBe(8);
  });
  it('min replicas win over an inactive trigger', () => {
    expect(jobsToCreate({ ...base, isActive: false, effMin: 2, running: 1 })).toEqual({ count: 1, rule: 'min-replicas' });
  });
});

describe('multipleScalersCalculation (example 8)', () => {
  const a = scalerJobMetrics(reading(6, 2), 10);
  const b = scalerJobMetrics(reading(4, 1), 10);
  it.each([
    ['max', 6, 3],
    ['min', 4, 4],
    ['avg', 5, 4],
    ['sum', 10, 7],
  ] as const)('%s -> scaleTo %d, maxScale %d', (calc, scaleTo, maxScale) => {
    expect(combineScalerJobMetrics([a, b], calc, 0, 10)).toEqual({ scaleTo, maxScale, isActive: true });
  });
  it('max ignores an active scaler at 0, leaving the SJ inactive', () => {
    expect(combineScalerJobMetrics([scalerJobMetrics(reading(0, 1, true), 10)], 'max', 0, 10).isActive).toBe(false);
  });
  it('min replaces a kept 0 with the next active scaler', () => {
    const zero = scalerJobMetrics(reading(0, 1, true), 10);
    expect(combineScalerJobMetrics([zero, b], 'min', 0, 10)).toEqual({ scaleTo: 4, maxScale: 4, isActive: true });
  });
  it('inactive scalers do not count; effMin > 0 forces active', () => {
    const inactive = scalerJobMetrics(reading(9, 1, false), 10);
    expect(combineScalerJobMetrics([inactive], 'sum', 0, 10)).toEqual({ scaleTo: 0, maxScale: 0, isActive: false });
    expect(combineScalerJobMetrics([inactive], 'sum', 1, 10).isActive).toBe(true);
  });
  it('maxValue is capped at effMax; a zero target gives maxValue 0', () => {
    expect(scalerJobMetrics(reading(50, 1), 10).maxValue).toBe(10);
    expect(scalerJobMetrics(reading(50, 0), 10).maxValue).toBe(0);
  });
  it('queue length sums values of the first metric only; target is the mean of averageValues', () => {
    const m = scalerJobMetrics(
      {
        specs: [
          { metricName: 'a', averageValue: 2 },
          { metricName: 'b', averageValue: 4 },
        ],
        values: [
          { metricName: 'a', value: 3 },
          { metricName: 'a', value: 6 },
          { metricName: 'b', value: 100 },
        ],
        isActive: true,
      },
      100,
    );
    expect(m).toEqual({ queueLength: 9, maxValue: 3, isActive: true });
  });
});

const job = (name: string, finished?: 'Complete' | 'Failed', completionTime?: string, generation?: string): JobLike => ({
  metadata: { name, annotations: generation === undefined ? {} : { 'scaledjob.keda.sh/generation': generation } },
  status: { conditions: finished ? [{ type: finished, status: 'True' }] : [{ type: 'Suspended', status: 'False' }], completionTime },
});

describe('counting Jobs', () => {
  const pods: Record<string, PodLike[]> = {
    running: [{ status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }, { type: 'PodScheduled', status: 'True' }] } }],
    pending: [{ status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True' }] } }],
    nopod: [],
    ready: [{ status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }, { type: 'PodScheduled', status: 'True' }] } }],
  };
  const jobs = [job('running'), job('pending'), job('nopod'), job('ready'), job('done', 'Complete'), job('bad', 'Failed')];
  it('default: pending = no pod Running or Succeeded', () => {
    expect(countJobs(jobs, (n) => pods[n] ?? [])).toEqual({ running: 4, pending: 2 });
  });
  it('pendingPodConditions: pending = no pod with all listed conditions True', () => {
    expect(countJobs(jobs, (n) => pods[n] ?? [], ['Ready', 'PodScheduled'])).toEqual({ running: 4, pending: 3 });
  });
});

describe('rollout and history', () => {
  it('old-generation Jobs: missing or different annotation', () => {
    const list = [job('a', undefined, undefined, '3'), job('b', undefined, undefined, '2'), job('c')];
    expect(oldGenerationJobs(list, 3).map((j) => j.metadata?.name)).toEqual(['b', 'c']);
  });
  it('history: the oldest finished Jobs beyond each limit, by completion time', () => {
    const list = [
      job('s3', 'Complete', '2026-01-01T00:03:00Z'),
      job('s1', 'Complete', '2026-01-01T00:01:00Z'),
      job('run'),
      job('s2', 'Complete', '2026-01-01T00:02:00Z'),
      job('f1', 'Failed'),
      job('f2', 'Failed'),
    ];
    expect(historyJobsToDelete(list, 1, 1).map((j) => j.metadata?.name)).toEqual(['s1', 's2', 'f1']);
    expect(historyJobsToDelete(list, 0, 0).map((j) => j.metadata?.name)).toEqual(['s1', 's2', 's3', 'f1', 'f2']);
    expect(historyJobsToDelete(list, 100, 100)).toEqual([]);
  });
});

describe('Job objects', () => {
  it('labels, annotations, owner, template label and restartPolicy', () => {
    const s = sj();
    s.metadata = {
      ...s.metadata,
      labels: { team: 'a', secret: 'x', 'app.kubernetes.io/name': 'override' },
      annotations: { 'scaledjob.keda.sh/job-excluded-labels': 'secret', note: 'n' },
    };
    const j = jobForScaledJob(s, '2.20.2') as {
      metadata: { generateName: string; namespace: string; labels: Record<string, string>; annotations: Record<string, string>; ownerReferences: { kind: string; controller: boolean; uid: string }[] };
      spec: { template: { metadata: { labels: Record<string, string>; generateName: string }; spec: { restartPolicy: string } } };
    };
    expect(j.metadata.generateName).toBe('worker-');
    expect(j.metadata.namespace).toBe('ns');
    expect(j.metadata.labels).toEqual({
      'app.kubernetes.io/name': 'override',
      'app.kubernetes.io/version': '2.20.2',
      'app.kubernetes.io/part-of': 'worker',
      'app.kubernetes.io/managed-by': 'keda-operator',
      'scaledjob.keda.sh/name': 'worker',
      team: 'a',
    });
    expect(j.metadata.annotations).toEqual({ 'scaledjob.keda.sh/generation': '3', 'scaledjob.keda.sh/job-excluded-labels': 'secret', note: 'n' });
    expect(j.metadata.ownerReferences[0]).toMatchObject({ kind: 'ScaledJob', controller: true, uid: 'u-1' });
    expect(j.spec.template.metadata).toEqual({ generateName: 'worker-', labels: { 'scaledjob.keda.sh/name': 'worker' } });
    expect(j.spec.template.spec.restartPolicy).toBe('OnFailure');
    // The ScaledJob itself is not changed.
    expect((s.spec.jobTargetRef.template as { metadata?: unknown }).metadata).toBeUndefined();
  });
  it('keeps an explicit restartPolicy', () => {
    const s = sj({ jobTargetRef: { template: { spec: { restartPolicy: 'Never', containers: [] } } } as never });
    expect((jobForScaledJob(s, 'v') as { spec: { template: { spec: { restartPolicy: string } } } }).spec.template.spec.restartPolicy).toBe('Never');
  });
});
