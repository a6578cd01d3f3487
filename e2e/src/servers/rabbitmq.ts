import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { ServerContext, TestServerDefinition } from './launcher';

/** Where Debian's rabbitmq-server 3.10 keeps the real scripts (/usr/sbin/rabbitmq-server is a su wrapper). */
const RABBITMQ_SBIN = '/usr/lib/rabbitmq/lib/rabbitmq_server-3.10.8/sbin';

/** `amqps` and `https` are allocated only with `tls`. */
export type RabbitMqPorts = 'amqp' | 'http' | 'epmd' | 'dist' | 'amqps' | 'https';

export interface RabbitMqOptions {
  username?: string;
  password?: string;
  /** Extra vhosts to create once the broker is up (the default vhost `/` always exists). */
  vhosts?: string[];
  /**
   * PEM files for TLS listeners (AMQPS and HTTPS management) next to the plain ones. Clients may
   * present a certificate signed by `caFile`; it is verified when given, not required.
   */
  tls?: { caFile: string; certFile: string; keyFile: string };
}

/** Credentials of the broker's only user (it may connect from anywhere, not just localhost). */
export const RABBITMQ_DEFAULT_USER = 'keda';
export const RABBITMQ_DEFAULT_PASSWORD = 'keda-test-pass';

/**
 * A RabbitMQ node (Debian `rabbitmq-server` 3.10) with the management plugin, in the foreground.
 * Every path (mnesia, logs, config, enabled plugins, Erlang cookie via HOME) is in the data dir,
 * and the node name, AMQP, management, epmd and distribution ports are unique, so parallel
 * instances never meet. Statistics are collected every second so message rates show up quickly.
 */
export function rabbitMqServer(options: RabbitMqOptions = {}): TestServerDefinition<RabbitMqPorts> {
  const username = options.username ?? RABBITMQ_DEFAULT_USER;
  const password = options.password ?? RABBITMQ_DEFAULT_PASSWORD;
  const files = (dataDir: string) => ({
    config: path.join(dataDir, 'rabbitmq.conf'),
    plugins: path.join(dataDir, 'enabled_plugins'),
  });
  const env = ({ ports, dataDir }: ServerContext & { ports: Record<RabbitMqPorts, number> }): NodeJS.ProcessEnv => ({
    HOME: dataDir,
    RABBITMQ_HOME: path.dirname(RABBITMQ_SBIN),
    RABBITMQ_NODENAME: `keda-e2e-${ports.amqp}@localhost`,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(ports.amqp),
    RABBITMQ_DIST_PORT: String(ports.dist),
    ERL_EPMD_PORT: String(ports.epmd),
    ERL_EPMD_ADDRESS: '127.0.0.1',
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    RABBITMQ_MNESIA_BASE: path.join(dataDir, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(dataDir, 'log'),
    RABBITMQ_LOGS: '-',
    RABBITMQ_PID_FILE: path.join(dataDir, 'rabbitmq.pid'),
    RABBITMQ_CONFIG_FILE: files(dataDir).config,
    RABBITMQ_ADVANCED_CONFIG_FILE: path.join(dataDir, 'advanced.config'),
    RABBITMQ_CONF_ENV_FILE: path.join(dataDir, 'rabbitmq-env.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: files(dataDir).plugins,
    RABBITMQ_PLUGINS_DIR: path.join(path.dirname(RABBITMQ_SBIN), 'plugins'),
  });
  const auth = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  const api = (port: number, pathname: string, init: RequestInit = {}) =>
    fetch(`http://127.0.0.1:${port}${pathname}`, {
      ...init,
      headers: { authorization: auth, 'content-type': 'application/json', ...init.headers },
      signal: AbortSignal.timeout(5000),
    });
  let vhostsCreated = false;
  return {
    name: 'rabbitmq',
    ports: options.tls ? ['amqp', 'http', 'epmd', 'dist', 'amqps', 'https'] : ['amqp', 'http', 'epmd', 'dist'],
    prepare: async ({ ports, dataDir }) => {
      const { config, plugins } = files(dataDir);
      // The management plugin is enabled offline: the plugins file is read at boot.
      writeFileSync(plugins, '[rabbitmq_management].\n');
      writeFileSync(
        config,
        [
          `listeners.tcp.1 = 127.0.0.1:${ports.amqp}`,
          `management.tcp.ip = 127.0.0.1`,
          `management.tcp.port = ${ports.http}`,
          `loopback_users = none`,
          `default_user = ${username}`,
          `default_pass = ${password}`,
          `collect_statistics_interval = 1000`,
          ...(options.tls
            ? [
                `listeners.ssl.1 = 127.0.0.1:${ports.amqps}`,
                `ssl_options.cacertfile = ${options.tls.caFile}`,
                `ssl_options.certfile = ${options.tls.certFile}`,
                `ssl_options.keyfile = ${options.tls.keyFile}`,
                `ssl_options.verify = verify_peer`,
                `ssl_options.fail_if_no_peer_cert = false`,
                `management.ssl.ip = 127.0.0.1`,
                `management.ssl.port = ${ports.https}`,
                `management.ssl.cacertfile = ${options.tls.caFile}`,
                `management.ssl.certfile = ${options.tls.certFile}`,
                `management.ssl.keyfile = ${options.tls.keyFile}`,
              ]
            : []),
          `log.console = true`,
          `log.console.level = warning`,
          '',
        ].join('\n'),
      );
    },
    command: (ctx) => ({ command: path.join(RABBITMQ_SBIN, 'rabbitmq-server'), args: [], env: env(ctx) }),
    ready: async ({ ports }) => {
      const res = await api(ports.http, '/api/overview');
      if (res.status !== 200) return false;
      if (!vhostsCreated) {
        for (const vhost of options.vhosts ?? []) {
          const created = await api(ports.http, `/api/vhosts/${encodeURIComponent(vhost)}`, { method: 'PUT' });
          if (created.status >= 300) return false;
          const granted = await api(ports.http, `/api/permissions/${encodeURIComponent(vhost)}/${encodeURIComponent(username)}`, {
            method: 'PUT',
            body: JSON.stringify({ configure: '.*', write: '.*', read: '.*' }),
          });
          if (granted.status >= 300) return false;
        }
        vhostsCreated = true;
      }
      return true;
    },
    readyTimeoutMs: 120_000,
  };
}

/** `amqp://user:pass@127.0.0.1:port/<vhost>` and `http://user:pass@127.0.0.1:port/<vhost>` for a running broker. */
export function rabbitMqUrls(
  ports: Record<RabbitMqPorts, number>,
  options: { username?: string; password?: string; vhost?: string } = {},
): { amqp: string; http: string; amqps?: string; https?: string } {
  const user = encodeURIComponent(options.username ?? RABBITMQ_DEFAULT_USER);
  const pass = encodeURIComponent(options.password ?? RABBITMQ_DEFAULT_PASSWORD);
  const vhost = options.vhost === undefined ? '' : `/${encodeURIComponent(options.vhost)}`;
  return {
    amqp: `amqp://${user}:${pass}@127.0.0.1:${ports.amqp}${vhost}`,
    http: `http://${user}:${pass}@127.0.0.1:${ports.http}${vhost}`,
    ...(ports.amqps ? { amqps: `amqps://${user}:${pass}@127.0.0.1:${ports.amqps}${vhost}` } : {}),
    ...(ports.https ? { https: `https://${user}:${pass}@127.0.0.1:${ports.https}${vhost}` } : {}),
  };
}
