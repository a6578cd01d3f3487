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
import { type ChannelCredentials, type ClientReadableStream, credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { externalScalerProto } from '@keda-ts/proto';
import { channelSettings, type ExternalChannelSettings, type ExternalConfig, externalDescriptor, externalMetricSpec, externalMetricType, externalPushDescriptor, metricNameWithIndex, type MetricsAndActivity, type MetricSpec, metricTargetInt, metricTargetMilli, type MetricValue, metricValue, type PushScaler, type Scaler, type ScalerInput, scalerMetadata } from '@keda-ts/scaler-sdk';
import { EgressDeniedError, egressOf, type EgressPolicy } from '../../net/egress-policy';
import { connectionKey, SharedClients } from '../../pools/shared-pool';
import type { ScalerContext } from '../../context';
import { LocalError, safeErrorText, upstreamError } from '../../upstream-errors';
import { implementScaler } from '../../implementation';

type ExternalScalerClient = externalScalerProto.ExternalScalerClient;
type ScaledObjectRef = externalScalerProto.ScaledObjectRef;

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

export const externalScaler = implementScaler(externalDescriptor, (config, input, ctx) => new ExternalScaler('external', config, input, ctx));
export const externalPushScaler = implementScaler(externalPushDescriptor, (config, input, ctx) => new ExternalPushScaler('external-push', config, input, ctx));
