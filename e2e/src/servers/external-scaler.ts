import { Server, ServerCredentials, status, type ServerWritableStream } from '@grpc/grpc-js';
import { externalScalerProto } from '@keda-ts/proto';

type Ref = externalScalerProto.ScaledObjectRef;

/** What the test external scaler answers; change it between polls. */
export interface ExternalScalerState {
  metricName: string;
  targetSize: number;
  targetSizeFloat: number;
  metricValue: number;
  metricValueFloat: number;
  active: boolean;
  /** GetMetricSpec returns no specs. */
  noSpecs: boolean;
}

export interface RunningExternalScaler {
  /** `127.0.0.1:<port>` */
  readonly address: string;
  readonly state: ExternalScalerState;
  /** Every call: RPC name, the request's ScaledObjectRef and (GetMetrics) the metric name asked for. */
  readonly calls: { rpc: string; ref?: Ref; metricName?: string; peer: string }[];
  /** Open StreamIsActive calls. */
  readonly openStreams: number;
  /** Sends `result` on every open StreamIsActive. */
  push(result: boolean): void;
  /** Ends every open StreamIsActive cleanly (EOF). */
  endStreams(): void;
  stop(): Promise<void>;
}

/**
 * A gRPC server implementing KEDA's `externalscaler.ExternalScaler` from proto/ (the generated
 * service definition), on 127.0.0.1 with a free port; plaintext, TLS, or mutual TLS.
 */
export async function startExternalScalerServer(
  options: { tls?: { certPem: string; keyPem: string; caPem?: string; requireClientCert?: boolean } } = {},
): Promise<RunningExternalScaler> {
  const state: ExternalScalerState = {
    metricName: 'queue',
    targetSize: 5,
    targetSizeFloat: 0,
    metricValue: 0,
    metricValueFloat: 0,
    active: false,
    noSpecs: false,
  };
  const calls: RunningExternalScaler['calls'] = [];
  const streams = new Set<ServerWritableStream<Ref, externalScalerProto.IsActiveResponse>>();
  const server = new Server();
  const impl: externalScalerProto.ExternalScalerServer = {
    isActive: (call, cb) => {
      calls.push({ rpc: 'IsActive', ref: call.request, peer: call.getPeer() });
      cb(null, { result: state.active });
    },
    getMetricSpec: (call, cb) => {
      calls.push({ rpc: 'GetMetricSpec', ref: call.request, peer: call.getPeer() });
      cb(null, {
        metricSpecs: state.noSpecs ? [] : [{ metricName: state.metricName, targetSize: state.targetSize, targetSizeFloat: state.targetSizeFloat }],
      });
    },
    getMetrics: (call, cb) => {
      calls.push({ rpc: 'GetMetrics', ref: call.request.scaledObjectRef, metricName: call.request.metricName, peer: call.getPeer() });
      cb(null, { metricValues: [{ metricName: call.request.metricName, metricValue: state.metricValue, metricValueFloat: state.metricValueFloat }] });
    },
    streamIsActive: (call) => {
      calls.push({ rpc: 'StreamIsActive', ref: call.request, peer: call.getPeer() });
      streams.add(call);
      const drop = () => streams.delete(call);
      call.on('cancelled', drop);
      call.on('close', drop);
      call.on('error', drop);
    },
    streamMetricSpec: (call) =>
      call.destroy(Object.assign(new Error('not implemented by the test scaler'), { code: status.UNIMPLEMENTED, details: 'not implemented by the test scaler' })),
  };
  server.addService(externalScalerProto.ExternalScalerService, impl);
  const credentials = options.tls
    ? ServerCredentials.createSsl(
        options.tls.caPem ? Buffer.from(options.tls.caPem) : null,
        [{ cert_chain: Buffer.from(options.tls.certPem), private_key: Buffer.from(options.tls.keyPem) }],
        Boolean(options.tls.requireClientCert),
      )
    : ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    address: `127.0.0.1:${port}`,
    state,
    calls,
    get openStreams() {
      return streams.size;
    },
    push(result) {
      for (const s of streams) s.write({ result });
    },
    endStreams() {
      for (const s of [...streams]) {
        streams.delete(s);
        s.end();
      }
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of [...streams]) s.end();
        streams.clear();
        server.tryShutdown(() => resolve());
        // Channels that keep connections open would hold tryShutdown; force after a moment.
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000).unref();
      }),
  };
}
