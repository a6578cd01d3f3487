import { isUsingModifiers, type ScaledJob, type ScaledObject } from '@keda-ts/api';
import type { MetricSpec, Scaler, ScalerContext, ScalerRegistry } from '@keda-ts/scalers';

/** The scalers of one ScaledObject generation: one per trigger, in trigger order. */
export interface BuiltScalers {
  generation: number;
  scalers: { index: number; triggerName?: string; triggerType: string; useCachedMetrics: boolean; scaler: Scaler }[];
}

/** What scalers are built for: a ScaledObject or a ScaledJob. */
export type ScalableObject = ScaledObject | ScaledJob;

export const isScaledJob = (obj: ScalableObject): obj is ScaledJob => 'jobTargetRef' in (obj.spec ?? {});

export type ScalerEnvResolver = (
  obj: ScalableObject,
) => Promise<{ resolvedEnv: Record<string, string>; authParams: (index: number) => Record<string, string> }>;

/**
 * Builds scalers once per ScaledObject/ScaledJob generation and closes them when the object changes
 * or goes (C-49). Keys of ScaledJobs carry a `ScaledJob/` prefix, so the two kinds never collide. A build failure closes the scalers built so far and is thrown with the trigger named.
 */
export class ScalersCache {
  private readonly entries = new Map<string, Promise<BuiltScalers>>();

  constructor(
    private readonly registry: ScalerRegistry,
    private readonly context: ScalerContext,
    private readonly resolveEnv: ScalerEnvResolver,
  ) {}

  async get(key: string, so: ScalableObject): Promise<BuiltScalers> {
    const generation = so.metadata?.generation ?? 0;
    const existing = this.entries.get(key);
    if (existing) {
      const built = await existing.catch(() => undefined);
      if (built && built.generation === generation) return built;
      await this.invalidate(key);
    }
    const building = this.build(so, generation);
    this.entries.set(key, building);
    building.catch(() => {
      if (this.entries.get(key) === building) this.entries.delete(key);
    });
    return building;
  }

  private async build(so: ScalableObject, generation: number): Promise<BuiltScalers> {
    const { resolvedEnv, authParams } = await this.resolveEnv(so);
    const built: BuiltScalers = { generation, scalers: [] };
    const kind = isScaledJob(so) ? 'ScaledJob' : 'ScaledObject';
    try {
      (so.spec.triggers as ScaledObject['spec']['triggers']).forEach((trigger, index) => {
        const scaler = this.registry.build(
          {
            triggerIndex: index,
            triggerType: trigger.type,
            triggerName: trigger.name,
            metadata: trigger.metadata ?? {},
            resolvedEnv,
            authParams: authParams(index),
            metricType: (trigger.metricType || undefined) as 'AverageValue' | 'Value' | 'Utilization' | undefined,
            useCachedMetrics: trigger.useCachedMetrics,
            // Triggers feeding a scaling-modifiers formula are metric sources: their own targets may be 0.
            asMetricSource: !isScaledJob(so) && isUsingModifiers(so),
            scalableObject: { kind, namespace: so.metadata?.namespace ?? '', name: so.metadata?.name ?? '' },
          },
          this.context,
        );
        built.scalers.push({ index, triggerName: trigger.name, triggerType: trigger.type, useCachedMetrics: !!trigger.useCachedMetrics, scaler });
      });
    } catch (err) {
      await Promise.allSettled(built.scalers.map((s) => s.scaler.close()));
      throw err;
    }
    return built;
  }

  /** The metric specs of every trigger, in trigger order. */
  static metricSpecs(built: BuiltScalers): MetricSpec[] {
    return built.scalers.flatMap((s) => s.scaler.getMetricSpecForScaling());
  }

  async invalidate(key: string): Promise<void> {
    const entry = this.entries.get(key);
    this.entries.delete(key);
    const built = await entry?.catch(() => undefined);
    if (built) await Promise.allSettled(built.scalers.map((s) => s.scaler.close()));
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((k) => this.invalidate(k)));
  }
}
