/**
 * `cron` (KEDA cron_scaler.go): active inside [start, end) in a timezone. With nextStart/nextEnd
 * the next firings strictly after now, the trigger is inside the window when the next end comes
 * before the next start. Value desiredReplicas inside, 0 outside; target 1.
 */
import { cronDescriptor, cronTimeFormat, externalMetricSpec, externalMetricType, isInCronWindow, metricName, metricTargetInt, metricValue, type MetricSpec, type MetricsAndActivity, type Scaler } from '@keda-ts/scaler-sdk';
import type { ScalerContext } from '../../context';
import { implementScaler } from '../../implementation';

export const cronScaler = implementScaler(cronDescriptor, (config, input, ctx: ScalerContext): Scaler => {
  const name = metricName(
    input.triggerIndex,
    `cron-${config.timezone}-${cronTimeFormat(config.start)}-${cronTimeFormat(config.end)}`,
  );
  const spec = externalMetricSpec(name, metricTargetInt(externalMetricType(input.metricType), 1));
  return {
    type: 'cron',
    getMetricSpecForScaling: (): MetricSpec[] => [structuredClone(spec)],
    async getMetricsAndActivity(requested): Promise<MetricsAndActivity> {
      const now = ctx.now();
      const inside = isInCronWindow(config.start, config.end, config.timezone, now);
      return { metrics: [metricValue(requested, inside ? config.desiredReplicas : 0, now)], isActive: inside };
    },
    async close() {
      // nothing to release
    },
  };
});
