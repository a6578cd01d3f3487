/**
 * `cron` (KEDA cron_scaler.go): active inside [start, end) in a timezone. With nextStart/nextEnd
 * the next firings strictly after now, the trigger is inside the window when the next end comes
 * before the next start. Value desiredReplicas inside, 0 outside; target 1.
 */
import { CronExpressionParser } from 'cron-parser';
import { describeScaler } from '../descriptor';
import { param } from '../params';

const params = {
  timezone: param.string({
    name: 'timezone',
    order: ['triggerMetadata'],
    description: 'IANA time zone name the schedules are read in, e.g. `Europe/Berlin` or `Etc/UTC`.',
  }),
  start: param.string({
    name: 'start',
    order: ['triggerMetadata'],
    description: 'Start of the window: a 5-field cron expression (minute hour day-of-month month day-of-week).',
  }),
  end: param.string({
    name: 'end',
    order: ['triggerMetadata'],
    description: 'End of the window (exclusive): a 5-field cron expression; must differ from `start`.',
  }),
  desiredReplicas: param.int({
    name: 'desiredReplicas',
    order: ['triggerMetadata'],
    description: 'Replicas wanted inside the window (non-zero).',
  }),
};

/** Undefined when `tz` is a time zone this runtime knows. */
function timezoneError(tz: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return undefined;
  } catch {
    return `unable to load timezone: unknown time zone ${tz}`;
  }
}

/** Undefined when `expr` is a valid 5-field cron expression. */
function scheduleError(expr: string): string | undefined {
  const fields = expr.trim().split(/\s+/);
  if (expr.trim().startsWith('@')) return `descriptors such as ${expr.trim()} are not accepted, use 5 fields`;
  if (fields.length !== 5) return `expected exactly 5 fields, found ${fields.length}: ${expr}`;
  try {
    CronExpressionParser.parse(expr, { tz: 'UTC' });
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Next firing strictly after `now` (at whole-second precision, like robfig/cron). */
function nextAfter(expr: string, now: Date, tz: string): number {
  const second = new Date(Math.floor(now.getTime() / 1000) * 1000);
  return CronExpressionParser.parse(expr, { currentDate: second, tz }).next().getTime();
}

/** KEDA's parseCronTimeFormat: spaces removed, `*`->x, `/`->Sl, `?`->Qm, `,`->Cm. */
export function cronTimeFormat(s: string): string {
  return s.replace(/ /g, '').replace(/\*/g, 'x').replace(/\//g, 'Sl').replace(/\?/g, 'Qm').replace(/,/g, 'Cm');
}

/** Whether `now` is inside the [start, end) window. */
export function isInCronWindow(start: string, end: string, timezone: string, now: Date): boolean {
  return nextAfter(end, now, timezone) < nextAfter(start, now, timezone);
}

export const cronDescriptor = describeScaler({
  type: 'cron',
  description:
    'Scales to `desiredReplicas` between `start` and `end` (cron expressions in `timezone`) and reports 0 outside; ' +
    'active only inside the window. Usually combined with another trigger.',
  params,
  example: { timezone: 'Europe/Berlin', start: '0 8 * * 1-5', end: '0 18 * * 1-5', desiredReplicas: '5' },
  validate(config) {
    const problems = [];
    const tz = timezoneError(config.timezone);
    if (tz) problems.push({ parameter: 'timezone', message: tz });
    const start = scheduleError(config.start);
    if (start) problems.push({ parameter: 'start', message: `error parsing start schedule: ${start}` });
    const end = scheduleError(config.end);
    if (end) problems.push({ parameter: 'end', message: `error parsing end schedule: ${end}` });
    if (config.start === config.end)
      problems.push({ parameter: 'end', message: 'start and end can not have exactly same time input' });
    if (config.desiredReplicas === 0) problems.push({ parameter: 'desiredReplicas', message: 'no desiredReplicas specified' });
    return problems;
  },
});
