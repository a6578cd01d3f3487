import { apiGroup, apiGroupList, apiResourceList, openApiV2, openApiV3GroupVersion, openApiV3Index } from './discovery';
import { externalMetricValueList, rfc3339 } from './server';

describe('discovery documents', () => {
  it('lists the group and its one version', () => {
    expect(apiGroupList()).toEqual({
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: [
        {
          name: 'external.metrics.k8s.io',
          versions: [{ groupVersion: 'external.metrics.k8s.io/v1beta1', version: 'v1beta1' }],
          preferredVersion: { groupVersion: 'external.metrics.k8s.io/v1beta1', version: 'v1beta1' },
        },
      ],
    });
    expect(apiGroup()).toMatchObject({ kind: 'APIGroup', name: 'external.metrics.k8s.io' });
  });

  it('advertises the externalmetrics placeholder resource (M-1)', () => {
    expect(apiResourceList()).toEqual({
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: 'external.metrics.k8s.io/v1beta1',
      resources: [{ name: 'externalmetrics', singularName: '', namespaced: true, kind: 'ExternalMetricValueList', verbs: ['get'] }],
    });
  });

  it('serves OpenAPI v2 and v3 documents whose references resolve', () => {
    const v2 = openApiV2();
    expect(v2.swagger).toBe('2.0');
    const v3 = openApiV3GroupVersion();
    expect(v3.openapi).toBe('3.0.0');
    const refs = (doc: unknown, prefix: string, defs: Record<string, unknown>) => {
      const found = JSON.stringify(doc).match(/"\$ref":"([^"]+)"/g) ?? [];
      expect(found.length).toBeGreaterThan(0);
      for (const r of found) expect(defs[r.slice(8, -1).replace(prefix, '')]).toBeDefined();
    };
    refs(v2, '#/definitions/', v2.definitions);
    refs(v3, '#/components/schemas/', v3.components.schemas);
    expect(openApiV3Index().paths['apis/external.metrics.k8s.io/v1beta1'].serverRelativeURL).toMatch(
      /^\/openapi\/v3\/apis\/external\.metrics\.k8s\.io\/v1beta1\?hash=[0-9A-F]+$/,
    );
  });

  it('renders ExternalMetricValueList items with RFC 3339 times and quantities', () => {
    const ts = new Date('2026-01-02T03:04:05.678Z');
    expect(rfc3339(ts)).toBe('2026-01-02T03:04:05Z');
    expect(
      externalMetricValueList([
        { metricName: 's0-x', timestamp: ts, value: 1.5 },
        { metricName: 's0-x', metricLabels: { a: 'b' }, timestamp: ts, value: 2000 },
      ]),
    ).toEqual({
      kind: 'ExternalMetricValueList',
      apiVersion: 'external.metrics.k8s.io/v1beta1',
      metadata: {},
      items: [
        { metricName: 's0-x', metricLabels: {}, timestamp: '2026-01-02T03:04:05Z', value: '1500m' },
        { metricName: 's0-x', metricLabels: { a: 'b' }, timestamp: '2026-01-02T03:04:05Z', value: '2k' },
      ],
    });
  });
});
