import { dropManagedFields, stripManagedFields } from './informer';

describe('stripManagedFields', () => {
  it('drops metadata.managedFields and keeps everything else', () => {
    const obj = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'a', namespace: 'n', labels: { x: 'y' }, managedFields: [{ manager: 'kubectl' }] },
      data: { k: 'v' },
    };
    expect(stripManagedFields(obj)).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'n', labels: { x: 'y' } }, data: { k: 'v' } });
  });

  it('leaves objects without metadata alone', () => {
    expect(stripManagedFields({ kind: 'Status' })).toEqual({ kind: 'Status' });
  });
});

describe('dropManagedFields', () => {
  it('removes managedFields and the last-applied annotation, keeping everything else', () => {
    const obj = {
      metadata: {
        name: 'so',
        namespace: 'ns',
        resourceVersion: '7',
        managedFields: [{ manager: 'kubectl', fieldsV1: {} }],
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"big":true}', 'validations.keda.sh/hpa-ownership': 'false' },
      },
      spec: { scaleTargetRef: { name: 'app' } },
    };
    expect(dropManagedFields(obj)).toEqual({
      metadata: { name: 'so', namespace: 'ns', resourceVersion: '7', annotations: { 'validations.keda.sh/hpa-ownership': 'false' } },
      spec: { scaleTargetRef: { name: 'app' } },
    });
    expect(dropManagedFields({})).toEqual({});
  });
});
