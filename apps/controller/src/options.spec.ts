import { leaderEndpointSettings } from './options';

const base = {
  metricsServiceEndpointSlice: 'keda-operator',
  podIP: '10.0.0.7',
  metricsServiceBindAddress: { host: '', port: 9666 },
  enablePrometheusMetrics: false,
  metricsBindAddress: { host: '', port: 8080 },
};

describe('leaderEndpointSettings (--metrics-service-endpoint-slice)', () => {
  it('is off without a Service name', () => {
    expect(leaderEndpointSettings({ ...base, metricsServiceEndpointSlice: '' })).toBeUndefined();
  });

  it.each<[string, Partial<typeof base>, string[]]>([
    ['the gRPC port on every address', {}, ['metricsservice:9666']],
    ['the gRPC port on the pod IP', { metricsServiceBindAddress: { host: '10.0.0.7', port: 9666 } }, ['metricsservice:9666']],
    ['and the Prometheus port when it is on', { enablePrometheusMetrics: true }, ['metricsservice:9666', 'metrics:8080']],
    ['not a Prometheus port bound elsewhere', { enablePrometheusMetrics: true, metricsBindAddress: { host: '127.0.0.1', port: 8080 } }, ['metricsservice:9666']],
  ])('publishes %s', (_name, change, ports) => {
    const settings = leaderEndpointSettings({ ...base, ...change });
    expect(settings?.ports.map((p) => `${p.name}:${p.port}`)).toEqual(ports);
    expect(settings?.serviceName).toBe('keda-operator');
    expect(settings?.podIP).toBe('10.0.0.7');
    expect(settings?.warnings.length).toBe(change.metricsBindAddress ? 1 : 0);
  });

  it('allows a loopback gRPC address with a warning (a local run forwarding the pod IP there)', () => {
    const settings = leaderEndpointSettings({ ...base, metricsServiceBindAddress: { host: '127.0.0.2', port: 9666 } });
    expect(settings?.ports.map((p) => p.port)).toEqual([9666]);
    expect(settings?.warnings).toEqual(['--metrics-service-bind-address 127.0.0.2:9666 is a loopback address: the Service reaches it only where 10.0.0.7 is forwarded there (a local run)']);
  });

  it.each<[string, Partial<typeof base>, string]>([
    ['no POD_IP', { podIP: '' }, '--metrics-service-endpoint-slice=keda-operator needs this pod\'s IP: set POD_IP from the downward API (fieldPath status.podIP) or --pod-ip'],
    ['a POD_IP that is no IP', { podIP: 'my-pod' }, 'the pod IP "my-pod" is not an IP address'],
    ['a loopback POD_IP', { podIP: '127.0.0.2' }, 'POD_IP 127.0.0.2 is a loopback address, which the API server refuses in an EndpointSlice'],
    [
      'gRPC bound to another interface',
      { metricsServiceBindAddress: { host: '10.0.0.8', port: 9666 } },
      '--metrics-service-bind-address 10.0.0.8:9666 does not listen on the pod IP 10.0.0.7; bind :9666 or 10.0.0.7:9666',
    ],
  ])('refuses %s, naming the flags', (_name, change, message) => {
    expect(() => leaderEndpointSettings({ ...base, ...change })).toThrow(message);
  });
});
