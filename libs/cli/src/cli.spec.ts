import type { debugProto } from '@keda-ts/proto';
import { createRegistry, metricsApiScaler } from '@keda-ts/scalers';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkDocument, overallExitCode, parseManifests, renderCheckReport, type CheckDeps } from './check';
import { CliError, ExitCode } from './exit-codes';
import { buildExplainReport, parseObjectRef, renderExplainReport, type ExplainSources } from './explain';
import { runCli } from './program';
import { renderTable } from './table';

describe('parseObjectRef', () => {
  it.each([
    ['so/web', { kind: 'ScaledObject', name: 'web' }],
    ['ScaledObject/web', { kind: 'ScaledObject', name: 'web' }],
    ['scaledobjects/a.b-c', { kind: 'ScaledObject', name: 'a.b-c' }],
    ['sj/jobs', { kind: 'ScaledJob', name: 'jobs' }],
    ['scaledjob/jobs', { kind: 'ScaledJob', name: 'jobs' }],
  ])('%s', (ref, want) => expect(parseObjectRef(ref)).toEqual(want));

  it.each(['web', 'deployment/web', 'so/Web', 'so/'])('rejects %s naming what is allowed', (ref) => {
    expect(() => parseObjectRef(ref)).toThrow(/expected <kind>\/<name> with kind scaledobject \(so\) or scaledjob \(sj\)/);
  });
});

describe('renderTable', () => {
  it('pads columns to the widest cell', () => {
    expect(renderTable(['A', 'LONG'], [['xyz', '1'], ['', '22']])).toBe('A    LONG\nxyz  1\n     22');
  });
});

const poll: debugProto.PollTrace = {
  time: new Date('2026-11-28T01:02:03Z'),
  currentReplicas: 0,
  durationMs: 2,
  triggers: [
    {
      index: 0, name: '', type: 'rabbitmq', metricName: 's0-rabbitmq-q', value: 3, activationParameter: 'activationValue',
      activationThreshold: 5, targetType: 'AverageValue', targetValue: 10, active: false, error: '', outcome: 'ok', latencyMs: 1.5,
    },
  ],
  decision: { action: 'none', rule: 'inactive', outcome: 'held-inactive', reason: 'HeldByActivation', summary: 'held at 0 replicas: value 3 is not above activationValue 5', hints: ['raise it'] },
};

const sources = (over: Partial<ExplainSources> = {}): ExplainSources => ({
  getObject: async () => ({ metadata: { name: 'q', namespace: 'ns' }, status: { conditions: [{ type: 'Ready', status: 'True', reason: 'ScaledObjectReady', message: 'ok' }] } }),
  getHpa: async () => ({ metadata: { name: 'keda-hpa-q' }, spec: { minReplicas: 1, maxReplicas: 10 }, status: { currentReplicas: 0, desiredReplicas: 0, currentMetrics: [], conditions: [] } }),
  traces: async () => ({ kind: 'ScaledObject', namespace: 'ns', name: 'q', polls: [poll] }),
  ...over,
});

describe('explain report', () => {
  it('leads with the latest decision and its hints, then the polls and the HPA', async () => {
    const report = await buildExplainReport({ kind: 'ScaledObject', namespace: 'ns', name: 'q' }, sources());
    const text = renderExplainReport(report);
    expect(text).toContain('Decision: held at 0 replicas: value 3 is not above activationValue 5\nWhat would change it:\n  - raise it');
    expect(text).toMatch(/2026-11-28T01:02:03Z\s+0\s+s0-rabbitmq-q\s+3\s+activationValue 5\s+AverageValue 10\s+no\s+1.5ms\s+held-inactive/);
    expect(text).toContain('HPA keda-hpa-q: replicas 0 current, 0 desired (min 1, max 10)');
  });

  it('names the pause annotation over any recorded decision', async () => {
    const report = await buildExplainReport(
      { kind: 'ScaledObject', namespace: 'ns', name: 'q' },
      sources({ getObject: async () => ({ metadata: { annotations: { 'autoscaling.keda.sh/paused-replicas': '2' } } }), traces: async () => undefined }),
    );
    expect(report.summary).toBe('paused by annotation autoscaling.keda.sh/paused-replicas="2": the controller does not poll or scale it');
    expect(renderExplainReport(report)).toContain('Recent polls: none (paused)');
  });

  it('fails with NotFound for a missing object', async () => {
    await expect(buildExplainReport({ kind: 'ScaledJob', namespace: 'ns', name: 'x' }, sources({ getObject: async () => undefined }))).rejects.toEqual(
      new CliError('ScaledJob ns/x not found', ExitCode.NotFound),
    );
  });
});

describe('parseManifests', () => {
  it('reads every object of a multi-document file', () => {
    expect(parseManifests('kind: A\n---\n---\nkind: B\n', 'f.yaml')).toEqual([{ kind: 'A' }, { kind: 'B' }]);
  });
  it.each([
    ['kind: [', /f.yaml: document 1 is not valid YAML/],
    ['- a', /f.yaml: document 1 is not a Kubernetes object/],
    ['', /f.yaml: no objects found/],
  ])('%j -> usage error', (text, message) => {
    expect(() => parseManifests(text, 'f.yaml')).toThrow(message);
  });
});

describe('checkDocument', () => {
  let server: http.Server;
  let port = 0;
  let answer: { status: number; body: string } = { status: 200, body: '{"v": 25}' };
  beforeAll(async () => {
    server = http.createServer((_req, res) => {
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(answer.body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  const so = (extra: object = {}) => ({
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: { name: 'web' },
    spec: { scaleTargetRef: { name: 'web' }, maxReplicaCount: 5, triggers: [{ type: 'metrics-api', metadata: { url: `http://127.0.0.1:${port}/`, valueLocation: 'v', targetValue: '10' } }], ...extra },
  });
  const deps = (verdict = { allowed: true, warnings: ['w1'] }): CheckDeps => ({
    validate: async () => verdict,
    resolveAuth: async () => ({ resolvedEnv: {}, authParams: () => ({}) }),
    currentReplicas: async () => 1,
    registry: createRegistry([metricsApiScaler]),
    scalerContext: { httpTimeoutMs: 1000, now: () => new Date(), kubernetes: { countPods: async () => 0 } },
    timeoutMs: 2000,
    now: () => new Date(),
  });

  it('reads each trigger once and predicts the replicas', async () => {
    answer = { status: 200, body: '{"v": 25}' };
    const r = await checkDocument(so(), 'ns', deps());
    expect(r).toMatchObject({ valid: true, namespace: 'ns', isActive: true, currentReplicas: 1, exitCode: ExitCode.Ok, warnings: ['w1'] });
    expect(r.triggers[0]).toMatchObject({ metricName: 's0-metric-api-v', value: 25, activation: { parameter: 'activationTargetValue', threshold: 0 }, target: { type: 'AverageValue', value: 10 } });
    expect(r.prediction?.replicas).toBe(3);
    expect(renderCheckReport(r)).toContain('replicas: 3 (now 1): s0-metric-api-v: ceil(25 / 10) = 3');
  });

  it('caps the prediction at maxReplicaCount', async () => {
    answer = { status: 200, body: '{"v": 900}' };
    expect((await checkDocument(so(), 'ns', deps())).prediction?.replicas).toBe(5);
  });

  it('carries the webhook message of an invalid object', async () => {
    const r = await checkDocument(so(), 'ns', deps({ allowed: false, message: 'no way', warnings: [] } as never));
    expect(r).toMatchObject({ valid: false, message: 'no way', exitCode: ExitCode.Invalid, triggers: [] });
  });

  it("reports a trigger's error with exit code 3", async () => {
    answer = { status: 401, body: 'no' };
    const r = await checkDocument(so(), 'ns', deps());
    expect(r.exitCode).toBe(ExitCode.TriggerFailed);
    expect(r.triggers[0].error).toMatch(/401/);
  });

  it('rejects kinds it does not check', async () => {
    const r = await checkDocument({ kind: 'Deployment', metadata: { name: 'x' } }, 'ns', deps());
    expect(r).toMatchObject({ valid: false, exitCode: ExitCode.Invalid });
    expect(overallExitCode([r, { ...r, exitCode: ExitCode.TriggerFailed }])).toBe(ExitCode.Invalid);
  });
});

describe('runCli', () => {
  const io = () => {
    const out = { stdout: '', stderr: '' };
    return { out, io: { stdout: (t: string) => (out.stdout += t), stderr: (t: string) => (out.stderr += t), env: {} } };
  };
  it('exits 2 on a usage error, naming it', async () => {
    const { out, io: cliIo } = io();
    expect(await runCli(['explain', 'so/x', '--limit', '0'], cliIo)).toBe(ExitCode.Usage);
    expect(out.stderr).toContain('--limit must be a positive whole number, got "0"');
  });
  it('exits 2 for an unreadable file', async () => {
    const { out, io: cliIo } = io();
    expect(await runCli(['check', '/no/such/file.yaml'], cliIo)).toBe(ExitCode.Usage);
    expect(out.stderr).toContain('cannot read /no/such/file.yaml');
  });
  it('prints help with exit 0', async () => {
    const { out, io: cliIo } = io();
    expect(await runCli(['--help'], cliIo)).toBe(ExitCode.Ok);
    expect(out.stdout).toContain('explain [options] <kind/name>');
  });
});
