import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { runApp, runtimeOptions, type AppContext, type AppProcess } from './app';
import { option, type ConfigOf } from './config';

const command = { name: 'demo', description: 'Demo app.', version: '9.9.9' };
const options = {
  ...runtimeOptions,
  greeting: option.string({ flag: 'greeting', env: 'GREETING', default: 'hi', description: 'Greeting.' }),
};

class FakeProcess extends EventEmitter implements AppProcess {
  readonly exited: Promise<number>;
  private resolveExit!: (code: number) => void;
  constructor(private readonly throwOnExit = false) {
    super();
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
  }
  exit(code: number): never {
    this.resolveExit(code);
    if (this.throwOnExit) throw new Error(`exit ${code}`);
    return undefined as never;
  }
}

function logSink() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { lines, destination };
}

type Context = AppContext<ConfigOf<typeof options>>;

async function startDemo(
  start: (context: Context) => void | Promise<void> = () => undefined,
  argv: string[] = [],
) {
  const proc = new FakeProcess();
  const { lines, destination } = logSink();
  let context!: Context;
  await runApp({
    command,
    component: 'demo',
    options,
    argv: ['--health-probe-bind-address', '127.0.0.1:0', ...argv],
    env: {},
    process: proc,
    logDestination: destination,
    start: async (ctx) => {
      context = ctx;
      await start(ctx);
    },
  });
  const { host, port } = context.health.address();
  return { proc, lines, context, base: `http://${host}:${port}` };
}

describe('runApp', () => {
  it('exits 2 on a bad flag before starting anything', async () => {
    const proc = new FakeProcess(true);
    const start = jest.fn();
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    await expect(
      runApp({
        command,
        component: 'demo',
        options,
        argv: ['--log-level', 'loud'],
        env: {},
        process: proc,
        start,
      }),
    ).rejects.toThrow('exit 2');
    expect(stderr).toHaveBeenCalledWith(expect.stringContaining('invalid value "loud" for flag --log-level'));
    stderr.mockRestore();
    expect(start).not.toHaveBeenCalled();
  });

  it('logs a JSON start-up line with the config, serves probes, and shuts down in order on SIGTERM', async () => {
    const order: string[] = [];
    let readyDuringShutdown: number | undefined;
    const { proc, lines, base } = await startDemo(
      ({ onShutdown }) => {
        onShutdown('first', () => void order.push('first'));
        onShutdown('second', async () => {
          readyDuringShutdown = (await fetch(`${base}/readyz`)).status;
          order.push('second');
        });
      },
      ['--greeting', 'hello'],
    );

    expect(lines[0]).toMatchObject({
      level: 'info',
      component: 'demo',
      version: '9.9.9',
      msg: 'starting demo',
    });
    expect(lines[0].config).toEqual({
      logLevel: 'info',
      shutdownTimeout: '25s',
      healthProbeBindAddress: '127.0.0.1:0',
      greeting: 'hello',
    });
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ok', checks: [{ name: 'running', ok: true }] });

    proc.emit('SIGTERM');
    expect(await proc.exited).toBe(0);
    expect(order).toEqual(['second', 'first']);
    expect(readyDuringShutdown).toBe(503);
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'received signal', signal: 'SIGTERM' }));
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'shutdown complete' }));
  });

  it('exits 1 when a shutdown hook times out', async () => {
    const { proc, context } = await startDemo(
      ({ onShutdown }) => onShutdown('stuck', () => new Promise(() => undefined)),
      ['--shutdown-timeout', '50ms'],
    );
    proc.emit('SIGINT');
    expect(await proc.exited).toBe(1);
    await context.health.close(); // never reached by the stuck shutdown
  });

  it('exits 1 at once on a second signal', async () => {
    const { proc, context } = await startDemo(
      ({ onShutdown }) => onShutdown('stuck', () => new Promise(() => undefined)),
      ['--shutdown-timeout', '1s'],
    );
    proc.emit('SIGTERM');
    proc.emit('SIGTERM');
    expect(await proc.exited).toBe(1);
    await context.health.close();
  });

  it('logs uncaught errors as JSON and exits 1', async () => {
    const { proc, lines, context } = await startDemo();
    proc.emit('uncaughtException', new Error('kaboom'));
    expect(await proc.exited).toBe(1);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 'error',
        msg: 'uncaught exception',
        err: expect.objectContaining({ message: 'kaboom', type: 'Error' }),
      }),
    );
    await context.health.close();
  });

  it("logs node's process warnings as JSON lines", async () => {
    const { proc, lines, context } = await startDemo();
    proc.emit('warning', Object.assign(new Error('`url.parse()` behavior is not standardized'), { name: 'DeprecationWarning', code: 'DEP0169' }));
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 'warn', msg: '`url.parse()` behavior is not standardized', warning: { name: 'DeprecationWarning', code: 'DEP0169' } }),
    );
    await context.health.close();
  });

  it('runs registered hooks and exits 1 when start-up fails', async () => {
    const cleanup = jest.fn();
    const proc = new FakeProcess();
    const { lines, destination } = logSink();
    await runApp({
      command,
      component: 'demo',
      options,
      argv: ['--health-probe-bind-address', '127.0.0.1:0'],
      env: {},
      process: proc,
      logDestination: destination,
      start: ({ onShutdown }) => {
        onShutdown('cleanup', cleanup);
        throw new Error('no kubeconfig');
      },
    });
    expect(await proc.exited).toBe(1);
    expect(cleanup).toHaveBeenCalled();
    expect(lines).toContainEqual(
      expect.objectContaining({
        msg: 'start-up failed',
        err: expect.objectContaining({ message: 'no kubeconfig' }),
      }),
    );
  });
});
