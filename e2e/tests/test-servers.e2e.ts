/** The launcher of real event-source servers that the scaler tests share (e2e/src/servers). */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { redisServer, startTestServer, tcpAccepts, tcpRequest, type RunningTestServer } from '../src/servers';

function processesUnder(dir: string): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        return readFileSync(`/proc/${e}/environ`, 'utf8').includes(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('test server launcher', () => {
  let redis: RunningTestServer<'redis'> | undefined;
  afterAll(async () => redis?.stop());

  it('starts a real server on a free loopback port with its own data dir, pauses, resumes and stops it', async () => {
    redis = await startTestServer(redisServer({ password: 's3cret' }));
    expect(redis.ports.redis).toBeGreaterThan(0);
    expect(existsSync(redis.dataDir)).toBe(true);
    expect(await tcpRequest(redis.ports.redis, 'AUTH s3cret\r\nSET k v\r\n')).toMatch(/^\+OK/);

    await redis.pause();
    expect(await tcpAccepts(redis.ports.redis)).toBe(false);
    await redis.resume();
    expect(await tcpAccepts(redis.ports.redis)).toBe(true);

    const stateDir = redis.dataDir.replace(/\/data$/, '');
    await redis.stop();
    expect(await tcpAccepts(redis.ports.redis)).toBe(false);
    expect(existsSync(stateDir)).toBe(false);
    expect(processesUnder(stateDir)).toEqual([]);
  });

  it('fails with the command and the log tail when the server cannot start', async () => {
    await expect(
      startTestServer({
        name: 'broken',
        ports: ['p'],
        command: () => ({ command: 'redis-server', args: ['--no-such-option', 'x'] }),
        ready: async () => false,
        readyTimeoutMs: 10_000,
      }),
    ).rejects.toThrow(/broken \(redis-server --no-such-option x\) exited with code 1; log .*\n[\s\S]*no-such-option/);
  });
});
