import { descriptorSet, fileDescriptorProtos, loadEmbeddedPackageDefinition } from './descriptors';
import { debugProto, externalScalerProto, metricsProto } from './index';

describe('the embedded descriptor sets', () => {
  it('describe the services the generated code implements, with KEDA method paths', () => {
    // One set at a time: metrics and debug both carry google/protobuf/timestamp.proto.
    const pkg = Object.assign({}, ...(['metrics', 'externalscaler', 'debug'] as const).map((s) => loadEmbeddedPackageDefinition([s])));
    const paths = (service: string) => Object.values(pkg[service] as Record<string, { path: string }>).map((m) => m.path);
    expect(paths('api.MetricsService')).toEqual(['/api.MetricsService/GetMetrics']);
    expect(paths('api.RawMetricsService')).toEqual([
      '/api.RawMetricsService/GetRawMetricsStream',
      '/api.RawMetricsService/SubscribeMetric',
      '/api.RawMetricsService/UnsubscribeMetric',
    ]);
    expect(paths('api.RawMetricsService')).toEqual(Object.values(metricsProto.RawMetricsServiceService).map((m) => m.path));
    expect(paths('externalscaler.ExternalScaler')).toEqual(Object.values(externalScalerProto.ExternalScalerService).map((m) => m.path));
    expect(paths('kedats.debug.v1.DecisionDebug')).toEqual(Object.values(debugProto.DecisionDebugService).map((m) => m.path));
  });

  it('carry each file with its imports', () => {
    expect(descriptorSet('health').length).toBeGreaterThan(0);
    expect(fileDescriptorProtos(['metrics']).length).toBe(2); // metrics.proto and google/protobuf/timestamp.proto
  });

  it('RawMetric keeps KEDA tags: value=1 (double), timestamp=2, metadata=3, isActive=4', () => {
    const bytes = metricsProto.RawMetric.encode({
      value: 1.5,
      timestamp: new Date('2026-01-01T00:00:00Z'),
      metadata: { name: 'so', namespace: 'ns', metricName: 'trigger' },
      isActive: true,
    }).finish();
    const tags = [bytes[0], bytes[9]];
    expect(tags).toEqual([(1 << 3) | 1, (2 << 3) | 2]);
    expect(bytes[bytes.length - 2]).toBe((4 << 3) | 0);
    expect(metricsProto.RawMetric.decode(bytes)).toMatchObject({ value: 1.5, isActive: true, metadata: { metricName: 'trigger' } });
  });
});
