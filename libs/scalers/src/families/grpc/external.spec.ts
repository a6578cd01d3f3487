
import { scalers } from '../../all';
import { channelSettings, isPushScaler, scalerMetadata } from '@keda-ts/scaler-sdk';
import { context, input } from '../../../test/fixtures';

const cases: { name: string; type?: string; metadata: Record<string, string>; authParams?: Record<string, string>; errors?: string[] }[] = [
  { name: 'minimal', metadata: { scalerAddress: 'scaler.svc:6000' } },
  { name: 'gRPC target', metadata: { scalerAddress: 'dns:///scaler.svc:6000' } },
  { name: 'IPv6', metadata: { scalerAddress: '[::1]:6000', enableTLS: 'true', unsafeSsl: 'true' } },
  {
    name: 'mutual TLS from authParams',
    type: 'external-push',
    metadata: { scalerAddress: 'a:1' },
    authParams: { caCert: 'CA', tlsClientCert: 'C', tlsClientKey: 'K' },
  },
  { name: 'scalerAddress missing', metadata: {}, errors: ['missing required parameter "scalerAddress" in [triggerMetadata]'] },
  {
    name: 'scalerAddress without port',
    metadata: { scalerAddress: 'scaler.svc' },
    errors: ['parameter "scalerAddress" value "scaler.svc" must be host:port (or a gRPC target such as dns:///host:port)'],
  },
  {
    name: 'client cert without key',
    metadata: { scalerAddress: 'a:1' },
    authParams: { tlsClientCert: 'C' },
    errors: ['tlsClientCert and tlsClientKey must be given together'],
  },
  {
    name: 'bad bools',
    type: 'external-push',
    metadata: { scalerAddress: 'a:1', enableTLS: 'on', unsafeSsl: 'nope' },
    errors: [
      'unable to set param "enableTLS" value "on": must be a boolean (true or false)',
      'unable to set param "unsafeSsl" value "nope": must be a boolean (true or false)',
    ],
  },
];

describe('external / external-push: parsing', () => {
  it.each(cases)('$name', ({ type = 'external', metadata, authParams = {}, errors }) => {
    const problems = scalers.validate(input({ triggerType: type, metadata, authParams })).map((p) => p.message);
    expect(problems.sort()).toEqual([...(errors ?? [])].sort());
  });

  it('only external-push is a push scaler; both are usable in ScaledJobs', async () => {
    const plain = scalers.build(input({ triggerType: 'external', metadata: { scalerAddress: 'a:1' } }), context());
    const push = scalers.build(input({ triggerType: 'external-push', metadata: { scalerAddress: 'a:1' } }), context());
    expect(isPushScaler(plain)).toBe(false);
    expect(isPushScaler(push)).toBe(true);
    // Before prepare() (GetMetricSpec) there is no spec.
    expect(plain.getMetricSpecForScaling()).toEqual([]);
    await plain.close();
    await push.close();
    expect(scalers.descriptor('external-push')?.kinds).toEqual(['ScaledObject', 'ScaledJob']);
  });
});

describe('external: helpers', () => {
  it('forwards metadata, replacing FromEnv values and dropping unresolved ones', () => {
    expect(
      scalerMetadata(
        { scalerAddress: 'a:1', queue: 'q', tokenFromEnv: 'TOKEN', emptyFromEnv: 'EMPTY', goneFromEnv: 'GONE' },
        { TOKEN: 't0k', EMPTY: '' },
      ),
    ).toEqual({ scalerAddress: 'a:1', queue: 'q', tokenFromEnv: 't0k' });
  });

  it('uses TLS when enableTLS is set or a CA or client certificate is given', () => {
    const base = { scalerAddress: 'a:1', enableTLS: false, unsafeSsl: false, caCert: undefined, tlsClientCert: undefined, tlsClientKey: undefined };
    expect(channelSettings(base).tls).toBe(false);
    expect(channelSettings({ ...base, enableTLS: true }).tls).toBe(true);
    expect(channelSettings({ ...base, caCert: 'CA' }).tls).toBe(true);
    expect(channelSettings({ ...base, tlsClientCert: 'C', tlsClientKey: 'K' }).tls).toBe(true);
  });
});
