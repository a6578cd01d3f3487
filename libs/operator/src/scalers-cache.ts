import { isUsingModifiers, type ScaledObject } from '@keda-ts/api';
import { activationThresholdOf, type ActivationThreshold, type MetricSpec, type Scaler, type ScalerContext, type ScalerInput, type ScalerRegistry } from '@keda-ts/scalers';

/** The scalers of one ScaledObject generation: one per trigger, in trigger order. */
export interface BuiltScalers {
  generation: number;
  scalers: {
    index: number;
    triggerName?: string;
    triggerType: string;
    useCachedMetrics: boolean;
    scaler: Scaler;
    /** The trigger's activation parameter and value, for explaining decisions. */
    activation?: ActivationThreshold;
  }[];
}

/** What a scalable object gives the scalers it is built from. */
export interface ScalableForScalers {
  kind: 'ScaledObject' | 'ScaledJob';
  namespace: string;
  name: string;
  generation: number;
  triggers: readonly {
    type: string;
    name?: string;
    metadata?: Record<string, string>;
    metricType?: string;
    useCachedMetrics?: boolean;
  }[];
  /** Scaling modifiers in use: the triggers are metric sources whose own targets may be 0. */
  asMetricSource?: boolean;
}

/**
 * Builds one scaler per trigger (C-49). A build failure closes the scalers built so far and is
 * thrown with the trigger named. Shared by the scale loops and `keda-ts check`.
 */
export async function buildScalers(
  registry: ScalerRegistry,
  context: ScalerContext,
  obj: ScalableForScalers,
  env: { resolvedEnv: Record<string, string>; authParams: (index: number) => Record<string, string> },
): Promise<BuiltScalers> {
  const built: BuiltScalers = { generation: obj.generation, scalers: [] };
  try {
    obj.triggers.forEach((trigger, index) => {
      const input: ScalerInput = {
        triggerIndex: index,
        triggerType: trigger.type,
        triggerName: trigger.name,
        metadata: trigger.metadata ?? {},
        resolvedEnv: env.resolvedEnv,
        authParams: env.authParams(index),
        metricType: (trigger.metricType || undefined) as 'AverageValue' | 'Value' | 'Utilization' | undefined,
        useCachedMetrics: trigger.useCachedMetrics,
        asMetricSource: obj.asMetricSource,
        scalableObject: { kind: obj.kind, namespace: obj.namespace, name: obj.name },
      };
      const scaler = registry.build(input, context);
      const descriptor = registry.descriptor(trigger.type);
      const activation = descriptor ? activationThresholdOf(descriptor, input) : undefined;
      built.scalers.push({ index, triggerName: trigger.name, triggerType: trigger.type, useCachedMetrics: !!trigger.useCachedMetrics, scaler, activation });
    });
  } catch (err) {
    await Promise.allSettled(built.scalers.map((s) => s.scaler.close()));
    throw err;
  }
  return built;
}

export type ScalerEnvResolver = (so: ScaledObject) => Promise<{ resolvedEnv: Record<string, string>; authParams: (index: number) => Record<string, string> }>;

/**
 * Builds scalers once per ScaledObject generation and closes them when the object changes or goes
 * (C-49). A build failure closes the scalers built so far and is thrown with the trigger named.
 */
export class ScalersCache {
  private readonly entries = new Map<string, Promise<BuiltScalers>>();

  constructor(
    private readonly registry: ScalerRegistry,
    private readonly context: ScalerContext,
    private readonly resolveEnv: ScalerEnvResolver,
  ) {}

  async get(key: string, so: ScaledObject): Promise<BuiltScalers> {
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

  private async build(so: ScaledObject, generation: number): Promise<BuiltScalers> {
    const env = await this.resolveEnv(so);
    return buildScalers(
      this.registry,
      this.context,
      {
        kind: 'ScaledObject',
        namespace: so.metadata?.namespace ?? '',
        name: so.metadata?.name ?? '',
        generation,
        triggers: so.spec.triggers,
        asMetricSource: isUsingModifiers(so),
      },
      env,
    );
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
