import { Writable } from 'node:stream';
import { Lifecycle } from './lifecycle';
import { createLogger } from './logger';

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return {
    lines,
    logger: createLogger({ component: 'test', version: '0.0.0', level: 'debug', destination }),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Lifecycle', () => {
  it('runs hooks in reverse registration order and resolves 0', async () => {
    const { logger } = capturingLogger();
    const lifecycle = new Lifecycle({ logger, shutdownTimeoutMs: 1000 });
    const order: string[] = [];
    lifecycle.onShutdown('first', () => void order.push('first'));
    lifecycle.onShutdown('second', async () => {
      await sleep(5);
      order.push('second');
    });
    lifecycle.onShutdown('third', () => void order.push('third'));
    expect(lifecycle.shuttingDown).toBe(false);
    const done = lifecycle.shutdown('test');
    expect(lifecycle.shuttingDown).toBe(true);
    expect(await done).toBe(0);
    expect(order).toEqual(['third', 'second', 'first']);
  });

  it('is idempotent', async () => {
    const { logger } = capturingLogger();
    const lifecycle = new Lifecycle({ logger, shutdownTimeoutMs: 1000 });
    const hook = jest.fn();
    lifecycle.onShutdown('once', hook);
    await Promise.all([lifecycle.shutdown('a'), lifecycle.shutdown('b')]);
    expect(hook).toHaveBeenCalledTimes(1);
  });

  it('keeps going after a failing hook and resolves 1', async () => {
    const { logger, lines } = capturingLogger();
    const lifecycle = new Lifecycle({ logger, shutdownTimeoutMs: 1000 });
    const after = jest.fn();
    lifecycle.onShutdown('after', after);
    lifecycle.onShutdown('broken', () => {
      throw new Error('cannot close');
    });
    expect(await lifecycle.shutdown('test')).toBe(1);
    expect(after).toHaveBeenCalled();
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 'error',
        msg: 'shutdown hook failed',
        hook: 'broken',
        err: expect.objectContaining({ message: 'cannot close' }),
      }),
    );
  });

  it('gives up after the overall timeout, naming the stuck hook and those not run', async () => {
    const { logger, lines } = capturingLogger();
    const lifecycle = new Lifecycle({ logger, shutdownTimeoutMs: 50 });
    const neverRun = jest.fn();
    lifecycle.onShutdown('never run', neverRun);
    lifecycle.onShutdown('stuck', () => new Promise(() => undefined));
    lifecycle.onShutdown('quick', () => undefined);
    const started = Date.now();
    expect(await lifecycle.shutdown('test')).toBe(1);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(neverRun).not.toHaveBeenCalled();
    expect(lines).toContainEqual(
      expect.objectContaining({
        msg: 'shutdown timed out',
        hook: 'stuck',
        notRun: ['never run'],
        timeoutMs: 50,
      }),
    );
  });

  it('runs a hook registered during shutdown right away', async () => {
    const { logger } = capturingLogger();
    const lifecycle = new Lifecycle({ logger, shutdownTimeoutMs: 1000 });
    await lifecycle.shutdown('test');
    const late = jest.fn();
    lifecycle.onShutdown('late', late);
    await sleep(0);
    expect(late).toHaveBeenCalled();
  });
});
