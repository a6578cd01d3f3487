import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { startTestServer, type RunningTestServer, type ServerContext, type TestServerDefinition } from './launcher';
import { tcpRequest } from './tcp';

/** TLS files of a Redis server (PEM paths); `authClients` demands a client certificate. */
export interface RedisTlsFiles {
  certFile: string;
  keyFile: string;
  caFile: string;
  authClients?: boolean;
}

export interface RedisServerOptions {
  password?: string;
  /** Serve TLS only, on the `redis` port (the plain port is off). */
  tls?: RedisTlsFiles;
  /** A cluster node (`--cluster-enabled yes`); see startRedisCluster. */
  clusterNode?: boolean;
}

/** `redis-cli` arguments that reach a server with these options (for setup and readiness). */
function cliArgs(port: number, options: { password?: string; tls?: RedisTlsFiles }): string[] {
  return [
    '-h', '127.0.0.1', '-p', String(port), '--no-auth-warning',
    ...(options.password ? ['-a', options.password] : []),
    ...(options.tls ? ['--tls', '--cacert', options.tls.caFile, '--cert', options.tls.certFile, '--key', options.tls.keyFile] : []),
  ];
}

/** Runs one redis-cli command against a server started with these options. */
export function redisCli(ctx: Pick<ServerContext, 'run'>, port: number, options: RedisServerOptions, command: string[]): Promise<string> {
  return ctx.run('redis-cli', [...cliArgs(port, options), ...command], { timeoutMs: 10_000 });
}

/**
 * A Redis server (Debian `redis-server`), no persistence: standalone, with a password, TLS-only,
 * or as a cluster node. The worked example of a server definition.
 */
export function redisServer(options: RedisServerOptions = {}): TestServerDefinition<'redis'> {
  return {
    name: options.clusterNode ? 'redis-node' : 'redis',
    ports: ['redis'],
    command: ({ ports, dataDir }) => ({
      command: 'redis-server',
      args: [
        '--bind', '127.0.0.1', '--dir', dataDir,
        '--save', '', '--appendonly', 'no', '--daemonize', 'no',
        ...(options.tls
          ? ['--port', '0', '--tls-port', String(ports.redis), '--tls-cert-file', options.tls.certFile,
              '--tls-key-file', options.tls.keyFile, '--tls-ca-cert-file', options.tls.caFile,
              '--tls-auth-clients', options.tls.authClients ? 'yes' : 'no', ...(options.clusterNode ? ['--tls-cluster', 'yes'] : [])]
          : ['--port', String(ports.redis)]),
        ...(options.password ? ['--requirepass', options.password, '--masterauth', options.password] : []),
        ...(options.clusterNode ? ['--cluster-enabled', 'yes', '--cluster-config-file', path.join(dataDir, 'nodes.conf')] : []),
      ],
    }),
    ready: async (ctx) => {
      if (options.tls) return /PONG/.test(await redisCli(ctx, ctx.ports.redis, options, ['PING']));
      // With a password the first reply is AUTH's +OK; either way a '+' reply means it serves commands.
      const auth = options.password ? `AUTH ${options.password}\r\n` : '';
      return /^\+(PONG|OK)/.test(await tcpRequest(ctx.ports.redis, `${auth}PING\r\n`));
    },
    readyTimeoutMs: 20_000,
  };
}

/** A running group of servers started together. */
export interface RunningServerGroup {
  readonly servers: RunningTestServer[];
  /** Stops every member. Idempotent. */
  stop(): Promise<void>;
}

async function startGroup<T>(start: (members: RunningTestServer[]) => Promise<T>): Promise<T & RunningServerGroup> {
  const members: RunningTestServer[] = [];
  const stop = async () => {
    await Promise.allSettled(members.map((m) => m.stop()));
  };
  try {
    const extra = await start(members);
    return { ...extra, servers: members, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export interface RunningRedisCluster extends RunningServerGroup {
  /** `127.0.0.1:port` of every node. */
  readonly addresses: string[];
}

/**
 * A Redis Cluster of `nodes` masters (no replicas): the nodes start in parallel, then
 * `redis-cli --cluster create` assigns the slots; resolves when every node reports cluster_state:ok.
 */
export async function startRedisCluster(options: { nodes?: number; password?: string } = {}): Promise<RunningRedisCluster> {
  return startGroup(async (members) => {
    const count = options.nodes ?? 3;
    const started = await Promise.allSettled(
      Array.from({ length: count }, () => startTestServer(redisServer({ password: options.password, clusterNode: true }))),
    );
    for (const s of started) if (s.status === 'fulfilled') members.push(s.value);
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    const addresses = members.map((m) => `127.0.0.1:${m.ports.redis}`);
    const ctx = { run: (command: string, args: string[], o?: { timeoutMs?: number }) => runCli(command, args, o?.timeoutMs) };
    await redisCli(ctx, members[0].ports.redis, options, ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes']);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const states = await Promise.all(members.map((m) => redisCli(ctx, m.ports.redis, options, ['CLUSTER', 'INFO']).catch(() => '')));
      if (states.every((s) => /cluster_state:ok/.test(s))) break;
      if (Date.now() > deadline) throw new Error(`redis cluster ${addresses.join(',')} did not reach cluster_state:ok within 30 s`);
      await new Promise((r) => setTimeout(r, 200));
    }
    return { addresses };
  });
}

export interface SentinelOptions {
  masterPort: number;
  masterName: string;
  masterPassword?: string;
  /** `requirepass` of the sentinel itself. */
  sentinelPassword?: string;
}

/** A Redis Sentinel (Debian `redis-sentinel`) monitoring one master, with a generated config. */
export function redisSentinelServer(options: SentinelOptions): TestServerDefinition<'sentinel'> {
  const config = (dataDir: string) => path.join(dataDir, 'sentinel.conf');
  return {
    name: 'redis-sentinel',
    ports: ['sentinel'],
    prepare: async ({ ports, dataDir }) => {
      writeFileSync(
        config(dataDir),
        [
          `bind 127.0.0.1`,
          `port ${ports.sentinel}`,
          `dir ${dataDir}`,
          `sentinel monitor ${options.masterName} 127.0.0.1 ${options.masterPort} 1`,
          ...(options.masterPassword ? [`sentinel auth-pass ${options.masterName} ${options.masterPassword}`] : []),
          ...(options.sentinelPassword ? [`requirepass ${options.sentinelPassword}`] : []),
          '',
        ].join('\n'),
      );
    },
    command: ({ dataDir }) => ({ command: 'redis-sentinel', args: [config(dataDir)] }),
    ready: async (ctx) => {
      const reply = await redisCli(ctx, ctx.ports.sentinel, { password: options.sentinelPassword }, [
        'SENTINEL', 'get-master-addr-by-name', options.masterName,
      ]);
      return reply.includes(String(options.masterPort));
    },
    readyTimeoutMs: 20_000,
  };
}

export interface RunningRedisSentinel extends RunningServerGroup {
  readonly master: RunningTestServer<'redis'>;
  readonly sentinel: RunningTestServer<'sentinel'>;
  readonly masterName: string;
}

/** A master and one sentinel watching it. */
export async function startRedisSentinel(
  options: { masterName?: string; password?: string; sentinelPassword?: string } = {},
): Promise<RunningRedisSentinel> {
  const masterName = options.masterName ?? 'mymaster';
  return startGroup(async (members) => {
    const master = await startTestServer(redisServer({ password: options.password }));
    members.push(master);
    const sentinel = await startTestServer(
      redisSentinelServer({ masterPort: master.ports.redis, masterName, masterPassword: options.password, sentinelPassword: options.sentinelPassword }),
    );
    members.push(sentinel);
    return { master, sentinel, masterName };
  });
}

function runCli(command: string, args: string[], timeoutMs = 10_000): Promise<string> {
  const shown = args.map((a, i) => (args[i - 1] === '-a' ? '***' : a)).join(' ');
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${command} ${shown} failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}
