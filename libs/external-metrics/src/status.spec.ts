import { MetricsServiceError, noMatchingMetricsError, scaledObjectNotFoundError, metricEncounteredError } from '@keda-ts/metrics-service';
import { StatusError, statusFromMetricsError, statusOf } from './status';
import { scaledObjectNameFromSelector, selectorToMap } from './selector';

const ADDR = 'keda-operator.keda.svc.cluster.local:9666';

describe('Status mapping', () => {
  it('builds Kubernetes Status objects', () => {
    expect(statusOf(404, 'gone')).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'gone', reason: 'NotFound', code: 404 });
    expect(statusOf(503, 'x').reason).toBe('ServiceUnavailable');
    expect(statusOf(401, 'x').reason).toBe('Unauthorized');
    expect(statusOf(403, 'x').reason).toBe('Forbidden');
  });

  it.each([
    [scaledObjectNotFoundError('so'), 404, 'scaledobjects.keda.sh "so" not found'],
    [noMatchingMetricsError('s0-x'), 404, 'no matching metrics found for s0-x'],
    [metricEncounteredError('s0-x'), 500, 'unable to fetch metrics from the KEDA metrics service: metric:s0-x encountered error'],
    [new MetricsServiceError(3, 'bad'), 400, 'bad'],
  ])('maps %s to %i', (err, code, message) => {
    const s = statusFromMetricsError(err, 's0-x', ADDR);
    expect(s.code).toBe(code);
    expect(s.message).toBe(message);
  });

  it.each([14, 4])('maps gRPC code %i to 503 naming the controller', (code) => {
    const s = statusFromMetricsError(new MetricsServiceError(code, 'No connection established'), 's0-x', ADDR);
    expect(s.toStatus()).toMatchObject({ code: 503, reason: 'ServiceUnavailable' });
    expect(s.message).toContain(ADDR);
    expect(s.message).toContain('No connection established');
  });

  it('passes StatusErrors through and wraps other errors as 500', () => {
    const e = new StatusError(400, 'x');
    expect(statusFromMetricsError(e, 'm', ADDR)).toBe(e);
    expect(statusFromMetricsError(new Error('boom'), 'm', ADDR).code).toBe(500);
  });
});

describe('label selector (M-3)', () => {
  it('reads the ScaledObject name', () => {
    expect(scaledObjectNameFromSelector('scaledobject.keda.sh/name=so')).toBe('so');
    expect(scaledObjectNameFromSelector('a=b,scaledobject.keda.sh/name==so')).toBe('so');
    expect(scaledObjectNameFromSelector('scaledobject.keda.sh/name in (so)')).toBe('so');
    expect(selectorToMap('a in (x,y), b!=c, d=e, !f')).toEqual({ d: 'e' });
  });

  it.each([undefined, '', 'app=x', 'scaledobject.keda.sh/name!=so'])('rejects %p with 400', (sel) => {
    expect(() => scaledObjectNameFromSelector(sel)).toThrow(
      expect.objectContaining({ code: 400, message: 'scaledObject name is not specified' }),
    );
  });
});
