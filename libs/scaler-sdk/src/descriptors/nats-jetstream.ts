/**
 * `nats-jetstream` (KEDA nats_jetstream_scaler.go): the lag of a JetStream consumer read from the
 * server's monitoring endpoint (`/jsz`), lag = num_pending + num_ack_pending. Needs no NATS
 * client: one HTTP GET per poll over a keep-alive agent shared per endpoint.
 */
import { describeScaler, type ValidationIssue } from '../descriptor';
import { displayUrl } from '../url';
import { param, type ParsedParams, q } from '../params';
import { VETTING } from '../vetting';

const M = ['triggerMetadata'] as const;
const AM = ['authParams', 'triggerMetadata'] as const;

const params = {
  account: param.string({
    name: ['account', 'accountID'],
    order: AM,
    description: 'Account id or name the stream lives in; `$G` on a server without accounts.',
  }),
  stream: param.string({ name: 'stream', order: M, description: 'Name of the JetStream stream.' }),
  consumer: param.string({ name: 'consumer', order: M, description: 'Name (durable) of the consumer whose lag is measured.' }),
  natsServerMonitoringEndpoint: param.string({ refersTo: 'endpoint', vetting: VETTING.httpHostPort,
    name: 'natsServerMonitoringEndpoint',
    order: AM,
    description: '`host:port` of the monitoring endpoint (`-m` / `http_port`), without a scheme.',
  }),
  useHttps: param.bool({ name: 'useHttps', order: M, default: 'false', description: 'Query the monitoring endpoint over HTTPS.' }),
  lagThreshold: param.int({ name: 'lagThreshold', order: M, default: '10', description: 'Target lag per replica.' }),
  activationLagThreshold: param.int({
    name: 'activationLagThreshold',
    order: M,
    default: '0',
    description: 'Active when the lag is greater than this.',
  }),
};

export type NatsJetStreamConfig = ParsedParams<typeof params>;

function validate(config: NatsJetStreamConfig): ValidationIssue[] {
  const endpoint = config.natsServerMonitoringEndpoint;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) || endpoint.includes('/')) {
    return [
      {
        parameter: 'natsServerMonitoringEndpoint',
        message: `parameter "natsServerMonitoringEndpoint" value ${q(displayUrl(endpoint))} must be host:port without a scheme or path (use useHttps for HTTPS)`,
      },
    ];
  }
  return [];
}

export const natsJetStreamDescriptor = describeScaler({
  type: 'nats-jetstream',
  description:
    'Scales on the lag (pending plus unacknowledged messages) of a NATS JetStream consumer, read from the ' +
    "server's monitoring endpoint (`/jsz`) with the operator-wide HTTP timeout (KEDA_HTTP_DEFAULT_TIMEOUT). " +
    'Clustered JetStream: the node behind the endpoint answers; locating the consumer leader is not implemented yet.',
  params,
  example: { natsServerMonitoringEndpoint: 'nats.nats.svc:8222', account: '$G', stream: 'ORDERS', consumer: 'worker', lagThreshold: '10' },
  validate,
});
