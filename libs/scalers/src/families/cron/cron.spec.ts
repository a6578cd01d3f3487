
import { scalers } from '../../all';
import { context, input } from '../../../test/fixtures';
import type { ScalerInput } from '@keda-ts/scaler-sdk';

const base = { timezone: 'Etc/UTC', start: '0 6 * * *', end: '0 20 * * *', desiredReplicas: '10' };

type Case = { name: string; metadata: Record<string, string>; metricType?: ScalerInput['metricType']; errors?: string[]; metric?: string };

const cases: Case[] = [
  { name: 'valid', metadata: base, metric: 's0-cron-Etc-UTC-06xxx-020xxx' },
  {
    name: "KEDA's example name",
    metadata: { ...base, timezone: 'Asia/Kolkata' },
    metric: 's0-cron-Asia-Kolkata-06xxx-020xxx',
  },
  {
    name: 'steps, lists and ? in the name',
    metadata: { ...base, start: '*/5 8-18 ? * 1,3', end: '0 19 * * 1,3' },
    metric: 's0-cron-Etc-UTC-xSl58-18Qmx1Cm3-019xx1Cm3',
  },
  {
    name: 'everything missing',
    metadata: {},
    errors: [
      'missing required parameter "timezone" in [triggerMetadata]',
      'missing required parameter "start" in [triggerMetadata]',
      'missing required parameter "end" in [triggerMetadata]',
      'missing required parameter "desiredReplicas" in [triggerMetadata]',
    ],
  },
  { name: 'same start and end', metadata: { ...base, end: base.start }, errors: ['start and end can not have exactly same time input'] },
  {
    name: 'bad start',
    metadata: { ...base, start: '61 * * * *' },
    errors: ['error parsing start schedule: Constraint error, got value 61 expected range 0-59'],
  },
  {
    name: 'descriptor',
    metadata: { ...base, end: '@hourly' },
    errors: ['error parsing end schedule: descriptors such as @hourly are not accepted, use 5 fields'],
  },
  {
    name: 'six fields',
    metadata: { ...base, start: '0 0 6 * * *' },
    errors: ['error parsing start schedule: expected exactly 5 fields, found 6: 0 0 6 * * *'],
  },
  { name: 'zero replicas', metadata: { ...base, desiredReplicas: '0' }, errors: ['no desiredReplicas specified'] },
  { name: 'replicas not an int', metadata: { ...base, desiredReplicas: 'ten' }, errors: ['unable to set param "desiredReplicas" value "ten": must be an integer'] },
  { name: 'unknown timezone', metadata: { ...base, timezone: 'Mars/Olympus' }, errors: ['unable to load timezone: unknown time zone Mars/Olympus'] },
  {
    name: 'Utilization',
    metadata: base,
    metricType: 'Utilization',
    errors: ["'Utilization' metric type is unsupported for external metrics, allowed values are 'Value' or 'AverageValue'"],
  },
];

describe('cron: parsing and metric spec', () => {
  it.each(cases)('$name', (c) => {
    const i = input({ triggerType: 'cron', metadata: c.metadata, metricType: c.metricType });
    expect(scalers.validate(i).map((p) => p.message)).toEqual(c.errors ?? []);
    if (c.errors) return;
    expect(scalers.build(i, context()).getMetricSpecForScaling()).toEqual([
      { type: 'External', external: { metric: { name: c.metric }, target: { type: 'AverageValue', averageValue: '1' } } },
    ]);
  });

  it('uses the trigger metricType for the target', () => {
    const s = scalers.build(input({ triggerType: 'cron', metadata: base, metricType: 'Value' }), context());
    expect(s.getMetricSpecForScaling()[0].external?.target).toEqual({ type: 'Value', value: '1' });
  });
});

describe('cron: window', () => {
  const at = async (metadata: Record<string, string>, iso: string) => {
    const now = new Date(iso);
    const s = scalers.build(input({ triggerType: 'cron', metadata }), context({ now: () => now }));
    const r = await s.getMetricsAndActivity('s0-cron');
    expect(r.metrics[0].timestamp).toEqual(now);
    return [r.isActive, r.metrics[0].value];
  };

  it.each([
    ['before start', '2026-01-05T05:59:59Z', false, 0],
    ['at start (inclusive)', '2026-01-05T06:00:00Z', true, 10],
    ['half a second after start', '2026-01-05T06:00:00.500Z', true, 10],
    ['midday', '2026-01-05T12:00:00Z', true, 10],
    ['just before end', '2026-01-05T19:59:59Z', true, 10],
    ['at end (exclusive)', '2026-01-05T20:00:00Z', false, 0],
    ['night', '2026-01-05T23:00:00Z', false, 0],
  ])('same-day window: %s', async (_, iso, active, value) => {
    expect(await at(base, iso)).toEqual([active, value]);
  });

  it.each([
    ['late evening', '2026-01-05T23:00:00Z', true],
    ['early morning', '2026-01-06T05:00:00Z', true],
    ['midday', '2026-01-06T12:00:00Z', false],
  ])('window across midnight: %s', async (_, iso, active) => {
    const [isActive] = await at({ ...base, start: '0 22 * * *', end: '0 6 * * *' }, iso);
    expect(isActive).toBe(active);
  });

  it.each([
    ['05:59 IST', '2026-01-05T00:29:00Z', false],
    ['06:00 IST', '2026-01-05T00:30:00Z', true],
    ['19:59 IST', '2026-01-05T14:29:00Z', true],
    ['20:00 IST', '2026-01-05T14:30:00Z', false],
  ])('in the trigger timezone: %s', async (_, iso, active) => {
    const [isActive] = await at({ ...base, timezone: 'Asia/Kolkata' }, iso);
    expect(isActive).toBe(active);
  });

  it('follows daylight saving time (Europe/Berlin, weekdays 08-18)', async () => {
    const m = { ...base, timezone: 'Europe/Berlin', start: '0 8 * * 1-5', end: '0 18 * * 1-5' };
    // Monday 30 March 2026 is in CEST (UTC+2): 08:00 local = 06:00Z
    expect((await at(m, '2026-03-30T05:59:00Z'))[0]).toBe(false);
    expect((await at(m, '2026-03-30T06:00:00Z'))[0]).toBe(true);
    // Monday 26 January 2026 is in CET (UTC+1): 08:00 local = 07:00Z
    expect((await at(m, '2026-01-26T06:30:00Z'))[0]).toBe(false);
    expect((await at(m, '2026-01-26T07:00:00Z'))[0]).toBe(true);
    // Saturday: outside
    expect((await at(m, '2026-01-31T10:00:00Z'))[0]).toBe(false);
  });
});
