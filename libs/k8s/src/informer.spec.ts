import { dropManagedFields } from './informer';

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
    dropManagedFields(obj);
    expect(obj).toEqual({
      metadata: { name: 'so', namespace: 'ns', resourceVersion: '7', annotations: { 'validations.keda.sh/hpa-ownership': 'false' } },
      spec: { scaleTargetRef: { name: 'app' } },
    });
    const bare = {};
    dropManagedFields(bare);
    expect(bare).toEqual({});
  });
});
