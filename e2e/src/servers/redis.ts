import type { TestServerDefinition } from './launcher';
import { tcpRequest } from './tcp';

/**
 * A standalone Redis (Debian `redis-server`), no persistence. The worked example of a server
 * definition; richer forms (password, TLS, sentinel, cluster) take options.
 */
export function redisServer(options: { password?: string } = {}): TestServerDefinition<'redis'> {
  return {
    name: 'redis',
    ports: ['redis'],
    command: ({ ports, dataDir }) => ({
      command: 'redis-server',
      args: [
        '--bind', '127.0.0.1', '--port', String(ports.redis), '--dir', dataDir,
        '--save', '', '--appendonly', 'no', '--daemonize', 'no',
        ...(options.password ? ['--requirepass', options.password] : []),
      ],
    }),
    ready: async ({ ports }) => {
      // With a password the first reply is AUTH's +OK; either way a '+' reply means it serves commands.
      const auth = options.password ? `AUTH ${options.password}\r\n` : '';
      return /^\+(PONG|OK)/.test(await tcpRequest(ports.redis, `${auth}PING\r\n`));
    },
    readyTimeoutMs: 20_000,
  };
}
