import { stripManagedFields } from './informer';

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
