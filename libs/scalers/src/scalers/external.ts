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
import { credentials, Metadata, status, type ChannelCredentials, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { externalScalerProto } from '@keda-ts/metrics-service';
import { defineScaler } from '../descriptor';
import { externalMetricSpec, externalMetricType, metricNameWithIndex, metricTargetInt, metricTargetMilli, metricValue } from '../metrics';
import { EgressDeniedError, egressOf, type EgressPolicy } from '../net/egress-policy';
import { param, type ParsedParams } from '../params';
import { SharedClients, connectionKey } from '../pools/shared-pool';
import type { MetricSpec, MetricValue, MetricsAndActivity, PushScaler, Scaler, ScalerContext, ScalerInput } from '../types';
import { LocalError, safeErrorText, upstreamError } from '../upstream-errors';
import { VETTING } from '../vetting';

type ExternalScalerClient = externalScalerProto.ExternalScalerClient;
type ScaledObjectRef = externalScalerProto.ScaledObjectRef;

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

function channelCredentials(settings: ExternalChannelSettings): ChannelCredentials {
  if (!settings.tls) return credentials.createInsecure();
  const verify: { rejectUnauthorized?: boolean; checkServerIdentity?: () => undefined } = {};
  if (settings.unsafeSsl) {
    verify.rejectUnauthorized = false;
    verify.checkServerIdentity = () => undefined;
  }
  return credentials.createSsl(
    settings.caCert ? Buffer.from(settings.caCert) : null,
    settings.tlsClientKey ? Buffer.from(settings.tlsClientKey) : null,
    settings.tlsClientCert ? Buffer.from(settings.tlsClientCert) : null,
    verify,
  );
}

const SERVICE_CONFIG = JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] });

const channelPool = new SharedClients<ExternalScalerClient>(async (client) => client.close());

/** The pool key (KEDA E-6): address and TLS settings, the TLS material only as a hash. */
export function channelKey(settings: ExternalChannelSettings): string {
  return connectionKey(
    { address: settings.address, tls: settings.tls, unsafeSsl: settings.unsafeSsl },
    { caCert: settings.caCert, tlsClientCert: settings.tlsClientCert, tlsClientKey: settings.tlsClientKey },
  );
}

function acquireChannel(settings: ExternalChannelSettings) {
  return channelPool.acquire(channelKey(settings), () =>
    new externalScalerProto.ExternalScalerClient(settings.address, channelCredentials(settings), {
      'grpc.service_config': SERVICE_CONFIG,
    }),
  );
}

/**
 * The hosts of a grpc-js target (`host:port`, `dns:[//auth/]host:port`, `ipv4:`/`ipv6:` lists).
 * Unix, abstract and vsock targets are refused: they are local paths or devices, not TCP.
 */
export function grpcTargetHosts(address: string): string[] {
  const scheme = /^([A-Za-z0-9+.-]+):(.*)$/.exec(address);
  const kind = scheme?.[1].toLowerCase();
  if (kind === 'unix' || kind === 'unix-abstract' || kind === 'vsock') {
    throw new EgressDeniedError(address, undefined, 'scalers connect over TCP only');
  }
  let rest = address;
  if (scheme && (kind === 'dns' || kind === 'ipv4' || kind === 'ipv6')) rest = scheme[2].replace(/^\/\/[^/]*\//, '');
  return rest.split(kind === 'ipv4' || kind === 'ipv6' ? ',' : /(?!)/).map((hostPort) => {
    const m = /^\[([^\]]+)\](?::\d*)?$/.exec(hostPort) ?? /^([^:]*)(?::\d*)?$/.exec(hostPort);
    return m ? m[1] : hostPort; // several colons without brackets: an IPv6 literal without a port
  });
}

/**
 * grpc-js has no socket or lookup hook, so the target's hosts are resolved and checked before the
 * first call on the channel (channels connect lazily). Residual risk: grpc-js resolves the name
 * again itself; a DNS server that answers differently a moment later (rebinding) is not caught.
 */
async function vetGrpcTarget(address: string, egress: EgressPolicy): Promise<void> {
  for (const host of grpcTargetHosts(address)) await egress.resolve(host);
}

/** Live pooled channels (tests, metrics). */
export function externalChannelPoolSize(): number {
  return channelPool.size;
}

/** A unary call with a deadline, as a promise; errors name the RPC and the address. */
function unary<Req, Res>(
  client: ExternalScalerClient,
  method: 'isActive' | 'getMetricSpec' | 'getMetrics',
  request: Req,
  address: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    const rpc = { isActive: 'IsActive', getMetricSpec: 'GetMetricSpec', getMetrics: 'GetMetrics' }[method];
    const fn = client[method] as unknown as (
      req: Req,
      md: Metadata,
      options: { deadline: Date },
      cb: (err: ServiceError | null, res: Res) => void,
    ) => { cancel(): void };
    const call = fn.call(client, request, new Metadata(), { deadline: new Date(Date.now() + timeoutMs) }, (err, res) => {
      signal?.removeEventListener('abort', onAbort);
      if (err) {
        // The status details are the tenant's server's text: the status code is shown instead.
        const why = err.code === status.DEADLINE_EXCEEDED ? `no answer within ${timeoutMs} ms` : safeErrorText(err);
        reject(new LocalError(`external scaler ${address}: ${rpc} failed: ${why}`));
      } else resolve(res);
    });
    const onAbort = () => call.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Reconnect delays of the StreamIsActive loop. */
export const PUSH_BACKOFF = { initialMs: 2000, maxMs: 60_000 };

class ExternalScaler implements Scaler {
  protected readonly lease;
  protected readonly ref: ScaledObjectRef;
  private readonly prefix: string;
  private specs: MetricSpec[] = [];
  protected closed = false;
  protected stream?: ClientReadableStream<externalScalerProto.IsActiveResponse>;
  protected retryTimer?: NodeJS.Timeout;
  /** The egress check of the target; awaited before every call. */
  protected readonly egressCheck: Promise<void>;

  constructor(
    readonly type: string,
    config: ExternalConfig,
    private readonly input: ScalerInput,
    protected readonly ctx: ScalerContext,
  ) {
    this.egressCheck = vetGrpcTarget(config.scalerAddress, egressOf(ctx));
    this.egressCheck.catch(() => undefined); // reported by the first call
    this.lease = acquireChannel(channelSettings(config));
    this.address = config.scalerAddress;
    this.prefix = `s${input.triggerIndex}-`;
    this.ref = {
      name: input.scalableObject.name,
      namespace: input.scalableObject.namespace,
      scalerMetadata: scalerMetadata(input.metadata, input.resolvedEnv),
    };
  }

  protected readonly address: string;

  /** Rejects, naming the address, when the egress policy refuses the target. */
  protected async egressAllowed(): Promise<void> {
    try {
      await this.egressCheck;
    } catch (err) {
      throw upstreamError(`external scaler ${this.address}`, err);
    }
  }

  async prepare(options?: { signal?: AbortSignal }): Promise<void> {
    await this.egressAllowed();
    const response = await unary<ScaledObjectRef, externalScalerProto.GetMetricSpecResponse>(
      this.lease.client,
      'getMetricSpec',
      this.ref,
      this.address,
      this.ctx.httpTimeoutMs,
      options?.signal,
    );
    const type = externalMetricType(this.input.metricType);
    this.specs = response.metricSpecs.map((spec) =>
      externalMetricSpec(
        metricNameWithIndex(this.input.triggerIndex, spec.metricName),
        spec.targetSizeFloat > 0 ? metricTargetMilli(type, spec.targetSizeFloat) : metricTargetInt(type, spec.targetSize),
      ),
    );
    if (this.specs.length === 0) throw new Error(`external scaler ${this.address}: got empty metric spec`);
  }

  getMetricSpecForScaling(): MetricSpec[] {
    return this.specs;
  }

  async getMetricsAndActivity(requested: string, options?: { signal?: AbortSignal }): Promise<MetricsAndActivity> {
    if (this.closed) throw new Error(`external scaler ${this.address}: the scaler is closed`);
    if (!requested.startsWith(this.prefix)) {
      throw new Error(`external scaler ${this.address}: metric name ${JSON.stringify(requested)} does not start with the trigger prefix ${JSON.stringify(this.prefix)}`);
    }
    const metricName = requested.slice(this.prefix.length);
    await this.egressAllowed();
    const metrics = await unary<externalScalerProto.GetMetricsRequest, externalScalerProto.GetMetricsResponse>(
      this.lease.client,
      'getMetrics',
      { scaledObjectRef: this.ref, metricName },
      this.address,
      this.ctx.httpTimeoutMs,
      options?.signal,
    );
    const active = await unary<ScaledObjectRef, externalScalerProto.IsActiveResponse>(
      this.lease.client,
      'isActive',
      this.ref,
      this.address,
      this.ctx.httpTimeoutMs,
      options?.signal,
    );
    const now = this.ctx.now();
    const values: MetricValue[] = metrics.metricValues.map((v) =>
      metricValue(requested, v.metricValueFloat > 0 ? v.metricValueFloat : v.metricValue, now),
    );
    return { metrics: values, isActive: active.result };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.stream?.cancel();
    this.stream = undefined;
    await this.lease.release();
  }
}

/** external-push: also holds StreamIsActive open (KEDA PushScaler). */
class ExternalPushScaler extends ExternalScaler implements PushScaler {
  /** Streams IsActive values to `onActivity` until close(). */
  run(onActivity: (isActive: boolean) => void): void {
    if (this.closed || this.stream) return;
    let backoff = PUSH_BACKOFF.initialMs;
    const connect = () => {
      if (this.closed) return;
      const stream = this.lease.client.streamIsActive(this.ref);
      this.stream = stream;
      let failed = false;
      stream.on('data', (response: externalScalerProto.IsActiveResponse) => {
        backoff = PUSH_BACKOFF.initialMs;
        onActivity(response.result);
      });
      const again = (delay: number) => {
        if (this.stream !== stream || this.closed) return;
        this.stream = undefined;
        this.retryTimer = setTimeout(connect, delay);
      };
      stream.on('error', (err: ServiceError) => {
        failed = true;
        if (this.closed) return;
        this.ctx.logger?.warn(
          { scaler: this.type, address: this.address, err: err.message, retryInMs: backoff },
          'external-push: StreamIsActive failed; reconnecting',
        );
        const delay = backoff;
        backoff = Math.min(backoff * 2, PUSH_BACKOFF.maxMs);
        again(delay);
      });
      stream.on('end', () => {
        if (failed) return;
        backoff = PUSH_BACKOFF.initialMs;
        again(backoff);
      });
    };
    // A refused target is never streamed from; the polls report the refusal.
    this.egressCheck.then(connect, (err: Error) =>
      this.ctx.logger?.warn({ scaler: this.type, address: this.address, err: err.message }, 'external-push: not streaming'),
    );
  }

}

function externalDescriptor(type: 'external' | 'external-push') {
  const push = type === 'external-push';
  return defineScaler({
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
    create: (config, input, ctx) => (push ? new ExternalPushScaler(type, config, input, ctx) : new ExternalScaler(type, config, input, ctx)),
  });
}

export const externalScaler = externalDescriptor('external');
export const externalPushScaler = externalDescriptor('external-push');
