/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-non-null-assertion -- test code pokes at loosely typed manifests */
import { applyCrdDefaults, applySchemaDefaults, pruneCrdUnknownFields } from './crd-defaults';
import {
  clusterTriggerAuthentication,
  scaledJob,
  scaledObject,
  triggerAuthentication,
} from '../test/fixtures';

describe('applyCrdDefaults', () => {
  it('fills fallback.behavior and authenticationRef.kind on a ScaledObject', () => {
    const so = scaledObject({
      fallback: { failureThreshold: 2, replicas: 3 },
      triggers: [
        { type: 'rabbitmq', metadata: {}, authenticationRef: { name: 'a' } },
        {
          type: 'kafka',
          metadata: {},
          authenticationRef: { name: 'b', kind: 'ClusterTriggerAuthentication' },
        },
        { type: 'cron', metadata: {} },
      ],
    });
    const defaulted = applyCrdDefaults('ScaledObject', so);
    expect(defaulted.spec.fallback).toEqual({ failureThreshold: 2, replicas: 3, behavior: 'static' });
    expect(defaulted.spec.triggers.map((t) => t.authenticationRef)).toEqual([
      { name: 'a', kind: 'TriggerAuthentication' },
      { name: 'b', kind: 'ClusterTriggerAuthentication' },
      undefined,
    ]);
    // pure: the input is untouched
    expect(so.spec.fallback).toEqual({ failureThreshold: 2, replicas: 3 });
  });

  it('does not create absent parents and leaves code-level defaults alone', () => {
    const so = scaledObject();
    const defaulted = applyCrdDefaults('ScaledObject', so);
    expect(defaulted).toEqual(so);
    expect(defaulted.spec.pollingInterval).toBeUndefined();
  });

  it('treats null like a missing field', () => {
    const so = scaledObject({ fallback: { failureThreshold: 1, replicas: 1, behavior: null as never } });
    expect(applyCrdDefaults('ScaledObject', so).spec.fallback?.behavior).toBe('static');
  });

  it('fills authenticationRef.kind on ScaledJob triggers', () => {
    const defaulted = applyCrdDefaults('ScaledJob', scaledJob());
    expect(defaulted.spec.triggers[0].authenticationRef).toEqual({
      name: 'rabbit',
      kind: 'TriggerAuthentication',
    });
  });

  it('fills oauth2.type on TriggerAuthentication and ClusterTriggerAuthentication', () => {
    const ta = triggerAuthentication();
    delete ta.spec.oauth2!.type;
    expect(applyCrdDefaults('TriggerAuthentication', ta).spec.oauth2?.type).toBe('clientCredentials');
    const cta = clusterTriggerAuthentication();
    cta.spec.oauth2 = { clientId: 'x' };
    expect(applyCrdDefaults('ClusterTriggerAuthentication', cta).spec.oauth2).toEqual({
      clientId: 'x',
      type: 'clientCredentials',
    });
  });

  it('applySchemaDefaults handles maps and arrays', () => {
    const schema = {
      type: 'object' as const,
      additionalProperties: {
        type: 'array' as const,
        items: { type: 'object' as const, properties: { a: { type: 'string' as const, default: 'x' } } },
      },
    };
    expect(applySchemaDefaults(schema, { k: [{}, { a: 'y' }] })).toEqual({ k: [{ a: 'x' }, { a: 'y' }] });
  });
});

describe('pruneCrdUnknownFields', () => {
  it('removes undeclared fields but keeps metadata, maps and the opaque pod template', () => {
    const sj = scaledJob() as any;
    sj.metadata.extra = 1;
    sj.spec.unknown = true;
    sj.spec.triggers[0].metricType = 'Value';
    sj.spec.triggers[0].metadata['any.key/here'] = 'v';
    sj.spec.jobTargetRef.template.spec.whatever = { deep: true };
    const { value, pruned } = pruneCrdUnknownFields('ScaledJob', sj);
    expect(pruned.sort()).toEqual(['spec.triggers[0].metricType', 'spec.unknown']);
    expect(value.metadata.extra).toBe(1);
    expect(value.spec.triggers[0].metadata['any.key/here']).toBe('v');
    expect(value.spec.jobTargetRef.template.spec.whatever).toEqual({ deep: true });
    expect(sj.spec.unknown).toBe(true); // input untouched
  });
});
