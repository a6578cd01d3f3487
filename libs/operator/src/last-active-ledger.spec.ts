import { lastActiveTimeBoundMs } from '@keda-ts/scaling';
import { flushLastActiveTimes, LastActiveLedger } from './last-active-ledger';

const T0 = Date.parse('2026-01-01T12:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000);
const boundMs = lastActiveTimeBoundMs(300);
const logger = () => {
  const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  const log = (level: string) => (obj: Record<string, unknown>, msg: string) => void lines.push({ level, obj, msg });
  return { lines, logger: { info: log('info'), warn: log('warn'), debug: log('debug'), error: log('error') } as never };
};

describe('LastActiveLedger', () => {
  it('remembers every active poll, asks for a write only at a transition and once per bound', () => {
    const ledger = new LastActiveLedger();
    const due: number[] = [];
    let stored: Date | undefined;
    for (let s = 0; s <= 160; s += 5) {
      const write = ledger.record('ns/a', { active: true, at: at(s), stored, boundMs, transition: s === 0 });
      if (write) {
        due.push(s);
        ledger.wrote('ns/a', write);
        // The informer shows it a little later: the ledger's own write already counts.
        if (s > 0) stored = write;
      }
      expect(ledger.lastActiveTime('ns/a', stored)).toEqual(at(s));
    }
    expect(due).toEqual([0, 75, 150]);
  });

  it('keeps second precision, as status does', () => {
    const ledger = new LastActiveLedger();
    ledger.record('ns/a', { active: true, at: new Date(T0 + 1_700), stored: undefined, boundMs, transition: true });
    expect(ledger.lastActiveTime('ns/a', undefined)).toEqual(at(1));
  });

  it('an inactive poll keeps the last active time and is remembered for the next transition', () => {
    const ledger = new LastActiveLedger();
    expect(ledger.wasActive('ns/a')).toBeUndefined();
    ledger.record('ns/a', { active: true, at: at(10), stored: undefined, boundMs, transition: true });
    expect(ledger.wasActive('ns/a')).toBe(true);
    expect(ledger.record('ns/a', { active: false, at: at(20), stored: at(0), boundMs, transition: false })).toBeUndefined();
    expect(ledger.wasActive('ns/a')).toBe(false);
    expect(ledger.lastActiveTime('ns/a', at(0))).toEqual(at(10));
    expect(ledger.behind('ns/a', at(0))).toEqual(at(10));
    expect(ledger.behind('ns/a', at(10))).toBeUndefined();
  });

  it('a stored value later than the remembered one (another leader) wins', () => {
    const ledger = new LastActiveLedger();
    ledger.record('ns/a', { active: true, at: at(10), stored: undefined, boundMs, transition: true });
    expect(ledger.lastActiveTime('ns/a', at(50))).toEqual(at(50));
    expect(ledger.behind('ns/a', at(50))).toBeUndefined();
  });

  it('forget drops the key and returns what status lacks; while holding for a flush it keeps everything', () => {
    const ledger = new LastActiveLedger();
    ledger.record('ns/a', { active: true, at: at(10), stored: undefined, boundMs, transition: true });
    ledger.record('ns/b', { active: true, at: at(10), stored: undefined, boundMs, transition: true });
    ledger.wrote('ns/b', at(10));
    expect(ledger.forget('ns/b')).toBeUndefined();
    ledger.holdForFlush();
    expect(ledger.forget('ns/a')).toBeUndefined();
    expect(ledger.pending()).toEqual([['ns/a', at(10)]]);
    ledger.flushed();
    expect(ledger.size).toBe(0);
    ledger.record('ns/a', { active: true, at: at(20), stored: undefined, boundMs, transition: true });
    expect(ledger.forget('ns/a')).toEqual(at(20));
    expect(ledger.size).toBe(0);
  });
});

describe('flushLastActiveTimes', () => {
  function ledgerWith(n: number): LastActiveLedger {
    const ledger = new LastActiveLedger();
    for (let i = 0; i < n; i++) ledger.record(`ns/o${i}`, { active: true, at: at(100), stored: at(40), boundMs, transition: false });
    ledger.record('ns/written', { active: true, at: at(100), stored: undefined, boundMs, transition: true });
    ledger.wrote('ns/written', at(100));
    return ledger;
  }

  it('writes every remembered time status lacks, at most `concurrency` at once, then forgets', async () => {
    const ledger = ledgerWith(20);
    ledger.holdForFlush();
    let inFlight = 0;
    let most = 0;
    const written: string[] = [];
    const { logger: log, lines } = logger();
    const result = await flushLastActiveTimes(ledger, {
      kind: 'ScaledObject',
      logger: log,
      concurrency: 3,
      write: async (key, when) => {
        expect(when).toEqual(at(100));
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setTimeout(r, 2));
        inFlight -= 1;
        written.push(key);
        return key !== 'ns/o0';
      },
    });
    expect(result).toEqual({ written: 19, skipped: 1, failed: 0, unfinished: 0 });
    expect(written).toHaveLength(20);
    expect(written).not.toContain('ns/written');
    expect(most).toBe(3);
    expect(ledger.size).toBe(0);
    expect(lines.at(-1)).toMatchObject({ level: 'info', obj: { kind: 'ScaledObject', written: 19 } });
  });

  it('gives up at the deadline: a hanging API server does not hold the shutdown', async () => {
    const ledger = ledgerWith(10);
    const { logger: log, lines } = logger();
    const started = Date.now();
    const result = await flushLastActiveTimes(ledger, {
      kind: 'ScaledObject',
      logger: log,
      concurrency: 2,
      timeoutMs: 50,
      write: (key) => (key === 'ns/o0' ? Promise.reject(new Error('refused')) : new Promise<boolean>(() => undefined)),
    });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(result.failed).toBe(1);
    expect(result.unfinished).toBe(9);
    expect(lines.at(-1)).toMatchObject({ level: 'warn' });
  });

  it('nothing to write: no request, no log', async () => {
    const ledger = ledgerWith(0);
    const { logger: log, lines } = logger();
    const write = jest.fn();
    expect(await flushLastActiveTimes(ledger, { kind: 'ScaledObject', logger: log, write })).toEqual({ written: 0, skipped: 0, failed: 0, unfinished: 0 });
    expect(write).not.toHaveBeenCalled();
    expect(lines).toEqual([]);
  });
});
