import { changedReference } from './watch';

const secret = (data: Record<string, string>, rv = '1') => ({ metadata: { name: 's', namespace: 'app', resourceVersion: rv }, data });
const ta = (generation: number, status?: string, namespace = 'app') => ({ metadata: { name: 'ta', namespace, generation }, status: { scaledobjects: status } });

describe('changedReference: which watch events rebuild dependents', () => {
  it.each([
    ['Secret added', 'Secret', 'add', secret({ a: 'MQ==' }), undefined, 'Secret/app/s'],
    ['Secret data changed', 'Secret', 'update', secret({ a: 'Mg==' }, '2'), secret({ a: 'MQ==' }), 'Secret/app/s'],
    ['Secret metadata-only update', 'Secret', 'update', secret({ a: 'MQ==' }, '2'), secret({ a: 'MQ==' }), undefined],
    ['Secret deleted', 'Secret', 'delete', secret({ a: 'MQ==' }), secret({ a: 'MQ==' }), 'Secret/app/s'],
    ['ConfigMap key added', 'ConfigMap', 'update', secret({ a: '1', b: '2' }), secret({ a: '1' }), 'ConfigMap/app/s'],
    ['TA spec change (generation)', 'TriggerAuthentication', 'update', ta(2), ta(1), 'TriggerAuthentication/app/ta'],
    ['TA status write (ours)', 'TriggerAuthentication', 'update', ta(1, 'so-a'), ta(1), undefined],
    ['CTA is keyed without namespace', 'ClusterTriggerAuthentication', 'add', ta(1, undefined, ''), undefined, 'ClusterTriggerAuthentication//ta'],
  ] as const)('%s', (_name, kind, type, obj, old, want) => {
    expect(changedReference(kind, type, obj, old)).toBe(want);
  });
});
