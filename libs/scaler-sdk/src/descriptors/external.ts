/**
 * `external` and `external-push` (KEDA external_scaler.go): a gRPC client of a user-provided
 * server implementing `externalscaler.ExternalScaler` (proto/externalscaler/externalscaler.proto).
 *
 * - prepare(): GetMetricSpec, once per build; the specs are then served by getMetricSpecForScaling.
 * - each poll: GetMetrics (metric name without the `s<index>-` prefix), then IsActive.
 * - external-push: run() holds StreamIsActive open until close(), reconnecting with a backoff of
 *   2 s doubling to 1 min (a clean end of stream resets it), and reports every value received.
 *
 * Channels are shared per (address, TLS settings) and use client-side round robin.
 */
import { describeScaler } from '../descriptor';
import { param, type ParsedParams } from '../params';
import { VETTING } from '../vetting';

const M = ['triggerMetadata'] as const;
const A = ['authParams'] as const;

const params = {
  scalerAddress: param.string({ refersTo: 'endpoint', vetting: VETTING.grpcTarget, name: 'scalerAddress', order: M, description: '`host:port` of the external scaler gRPC server.' }),
  enableTLS: param.bool({
    name: 'enableTLS',
    order: M,
    default: 'false',
    description: 'Use TLS. TLS is also used when `caCert` or `tlsClientCert` is given.',
  }),
  unsafeSsl: param.bool({ name: 'unsafeSsl', order: M, default: 'false', description: "Skip verification of the server's certificate." }),
  caCert: param.string({ name: 'caCert', order: A, optional: true, description: 'PEM CA certificate that signed the server certificate.' }),
  tlsClientCert: param.string({ name: 'tlsClientCert', order: A, optional: true, description: 'PEM client certificate (mutual TLS).' }),
  tlsClientKey: param.string({ name: 'tlsClientKey', order: A, optional: true, secret: true, description: 'PEM client key (mutual TLS).' }),
};

export type ExternalConfig = ParsedParams<typeof params>;

/** What a channel is built from (and the pool key). */
export interface ExternalChannelSettings {
  address: string;
  tls: boolean;
  unsafeSsl: boolean;
  caCert?: string;
  tlsClientCert?: string;
  tlsClientKey?: string;
}

/** KEDA's rule: TLS when enableTLS is set, or a CA or a client certificate is given. */
export function channelSettings(config: ExternalConfig): ExternalChannelSettings {
  return {
    address: config.scalerAddress,
    tls: config.enableTLS || Boolean(config.caCert) || Boolean(config.tlsClientCert),
    unsafeSsl: config.unsafeSsl,
    caCert: config.caCert,
    tlsClientCert: config.tlsClientCert,
    tlsClientKey: config.tlsClientKey,
  };
}

/**
 * The trigger metadata forwarded as `scalerMetadata`: copied whole, except that a `<x>FromEnv`
 * key carries the resolved env value instead of the env var name (dropped when that is empty).
 */
export function scalerMetadata(metadata: Record<string, string>, resolvedEnv: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata)) {
    if (!key.endsWith('FromEnv')) {
      out[key] = value;
      continue;
    }
    const resolved = Object.prototype.hasOwnProperty.call(resolvedEnv, value) ? resolvedEnv[value] : undefined;
    if (resolved) out[key] = resolved;
  }
  return out;
}

function describeExternal(type: 'external' | 'external-push') {
  const push = type === 'external-push';
  return describeScaler({
    type,
    description: push
      ? 'Like `external`, and also holds `StreamIsActive` open: every `true` the server pushes starts an immediate activation check ' +
        '(deactivation still happens through polling). Reconnects after 2 s, doubling up to 1 min. In a ScaledJob it only polls.'
      : 'Asks a user-provided gRPC server implementing `externalscaler.ExternalScaler` (KEDA-compatible proto) for the metric spec, ' +
        'values and activity. Every metadata entry is forwarded as `scalerMetadata` (`*FromEnv` keys with the resolved value). ' +
        'Calls time out after KEDA_HTTP_DEFAULT_TIMEOUT; channels are shared per address and TLS settings.',
    params,
    example: { scalerAddress: 'my-scaler.default.svc:6000', enableTLS: 'true', queue: 'orders' },
    exampleAuth: { caCert: '-----BEGIN CERTIFICATE-----...' },
    validate: (config) => {
      const problems = [];
      const hostPort = /^(\[[^\]]+\]|[^:/\s]+):\d{1,5}$/.test(config.scalerAddress);
      const target = /^[a-z][a-z0-9+.-]*:\/\/\S+$/i.test(config.scalerAddress);
      if (!hostPort && !target) {
        problems.push({ parameter: 'scalerAddress', message: `parameter "scalerAddress" value ${JSON.stringify(config.scalerAddress)} must be host:port (or a gRPC target such as dns:///host:port)` });
      }
      if (Boolean(config.tlsClientCert) !== Boolean(config.tlsClientKey)) {
        problems.push({ parameter: 'tlsClientCert', message: 'tlsClientCert and tlsClientKey must be given together' });
      }
      return problems;
    },
  });
}

export const externalDescriptor = describeExternal('external');
export const externalPushDescriptor = describeExternal('external-push');
