import { CloudEventSourceValidator, checkCloudEventSourceSpec } from './cloudeventsource';
import type { AdmissionRequest } from './review';

const http = { http: { uri: 'http://sink.example:8080/events' } };

describe('checkCloudEventSourceSpec (KEDA validateSpec)', () => {
  it('accepts an http destination with known types', () => {
    expect(checkCloudEventSourceSpec({ destination: http, eventSubscription: { includedEventTypes: ['keda.scaledobject.failed.v1'] } })).toBeUndefined();
    expect(checkCloudEventSourceSpec({ destination: http, eventSubscription: { excludedEventTypes: ['keda.authentication.triggerauthentication.updated.v1'] } })).toBeUndefined();
  });

  it('rejects included and excluded together, even empty', () => {
    expect(checkCloudEventSourceSpec({ destination: http, eventSubscription: { includedEventTypes: [], excludedEventTypes: [] } })).toBe(
      'setting included types and excluded types at the same time is not supported',
    );
  });

  it('rejects unknown event types with KEDA messages', () => {
    expect(checkCloudEventSourceSpec({ destination: http, eventSubscription: { excludedEventTypes: ['keda.bogus.v1' as never] } })).toBe(
      'excludedEventType: keda.bogus.v1 in cloudeventsource/clustercloudeventsource spec is not supported',
    );
    expect(checkCloudEventSourceSpec({ destination: http, eventSubscription: { includedEventTypes: ['nope' as never] } })).toBe(
      'includedEventType: nope in cloudeventsource/clustercloudeventsource spec is not supported',
    );
  });

  it('wants exactly one destination with an absolute http(s) URL', () => {
    expect(checkCloudEventSourceSpec({ destination: {} })).toMatch(/no destination/);
    expect(checkCloudEventSourceSpec({ destination: { ...http, azureEventGridTopic: { endpoint: 'https://t.example/api/events' } } })).toMatch(/only one destination/);
    expect(checkCloudEventSourceSpec({ destination: { http: { uri: 'file:///etc/passwd' } } })).toMatch(/absolute http or https/);
    expect(checkCloudEventSourceSpec({ destination: { http: { uri: 'http://u:p@h/' } } })).toMatch(/absolute http or https/);
    expect(checkCloudEventSourceSpec({ destination: { azureEventGridTopic: { endpoint: 'https://t.example/api/events' } } })).toMatch(/authenticationRef/);
  });
});

describe('CloudEventSourceValidator', () => {
  const req = (object: unknown, operation: AdmissionRequest['operation'] = 'CREATE'): AdmissionRequest => ({
    uid: 'u',
    operation,
    namespace: 'ns',
    name: 'c',
    object,
    oldObject: undefined,
    dryRun: false,
  });
  const ces = (spec: unknown, kind = 'CloudEventSource') => ({ apiVersion: 'eventing.keda.sh/v1alpha1', kind, metadata: { name: 'c' }, spec });

  it('allows a valid object of each kind', () => {
    expect(new CloudEventSourceValidator('CloudEventSource').validate(req(ces({ destination: http }))).allowed).toBe(true);
    expect(new CloudEventSourceValidator('ClusterCloudEventSource').validate(req(ces({ destination: http }, 'ClusterCloudEventSource'))).allowed).toBe(true);
  });

  it('denies schema errors and spec errors', () => {
    const v = new CloudEventSourceValidator('CloudEventSource');
    expect(v.validate(req(ces({})))).toMatchObject({ allowed: false, reason: 'invalid-schema' });
    expect(v.validate(req(ces({ destination: http, eventSubscription: { includedEventTypes: ['x'] } })))).toMatchObject({ allowed: false, reason: 'invalid-spec' });
  });

  it('never validates DELETE', () => {
    expect(new CloudEventSourceValidator('CloudEventSource').validate(req(ces({}), 'DELETE')).allowed).toBe(true);
  });
});
