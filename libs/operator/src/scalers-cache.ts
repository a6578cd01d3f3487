import { isUsingModifiers, type ScaledJob, type ScaledObject } from '@keda-ts/api';
import { activationThresholdOf, isPushScaler, type ActivationThreshold, type MetricSpec, type Scaler, type ScalerInput } from '@keda-ts/scaler-sdk';
import type { ScalerContext, ScalerRegistry, ScalerTelemetry } from '@keda-ts/scalers';
import type { OperatorMetricsRecorder, ScalerSource } from './prometheus';

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

/** Where the scalers' upstream traffic is reported (the controller's Prometheus metrics). */
export type ScalerTrafficRecorder = Pick<OperatorMetricsRecorder, 'scalerHttpRequest' | 'emptyUpstreamResponse'>;

/**
 * The telemetry of one trigger's scaler: its reports go to `recorder` labelled with the object and
 * trigger. The metric name is asked of the scaler at the first report (it is known once built).
 */
export function triggerTelemetry(
  recorder: ScalerTrafficRecorder,
  obj: Pick<ScalableForScalers, 'kind' | 'namespace' | 'name'>,
  trigger: { index: number; type: string; name?: string },
  scaler: () => Scaler | undefined,
): ScalerTelemetry {
  let source: ScalerSource | undefined;
  const sourceOf = (): ScalerSource => {
    if (source) return source;
    const spec = scaler()?.getMetricSpecForScaling().find((m) => m.type === 'External' && m.external);
    const metricName = spec?.external?.metric.name;
    const current: ScalerSource = {
      type: obj.kind === 'ScaledJob' ? 'scaledjob' : 'scaledobject',
      namespace: obj.namespace,
      name: obj.name,
      triggerType: trigger.type,
      triggerName: trigger.name || undefined,
      metricName: metricName ?? `s${trigger.index}`,
    };
    // Kept only once the scaler named its metric (a report during the build falls back to `s<i>`).
    if (metricName) source = current;
    return current;
  };
  // Reporting must never fail a scaler read.
  const safely = (fn: () => void) => {
    try {
      fn();
    } catch {
      /* a metrics error is not the scaler's */
    }
  };
  return {
    httpRequest: (statusCode, seconds) => safely(() => recorder.scalerHttpRequest?.(sourceOf(), statusCode, seconds)),
    emptyUpstreamResponse: (ignoreNullValues) => safely(() => recorder.emptyUpstreamResponse?.(sourceOf(), ignoreNullValues)),
  };
}

/**
 * Builds one scaler per trigger (C-49). A build failure closes the scalers built so far and is
 * thrown with the trigger named. Shared by the scale loops and `keda-ts check`. With `traffic`,
 * each scaler's context carries telemetry bound to its trigger.
 */
export async function buildScalers(
  registry: ScalerRegistry,
  context: ScalerContext,
  obj: ScalableForScalers,
  env: ScalerEnv,
  traffic?: ScalerTrafficRecorder,
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
        authenticationKind: env.authenticationKind?.(index),
        metricType: (trigger.metricType || undefined) as 'AverageValue' | 'Value' | 'Utilization' | undefined,
        useCachedMetrics: trigger.useCachedMetrics,
        asMetricSource: obj.asMetricSource,
        scalableObject: { kind: obj.kind, namespace: obj.namespace, name: obj.name },
      };
      // The telemetry asks the scaler for its metric name, which exists only once it is built.
      const slot: { scaler?: Scaler } = {};
      const triggerContext = traffic
        ? { ...context, telemetry: triggerTelemetry(traffic, obj, { index, type: trigger.type, name: trigger.name }, () => slot.scaler) }
        : context;
      const scaler = registry.build(input, triggerContext);
      slot.scaler = scaler;
      const descriptor = registry.descriptor(trigger.type);
      const activation = descriptor ? activationThresholdOf(descriptor, input) : undefined;
      built.scalers.push({ index, triggerName: trigger.name, triggerType: trigger.type, useCachedMetrics: !!trigger.useCachedMetrics, scaler, activation });
    });
    // Scalers that need I/O before they know their metric specs (external: GetMetricSpec).
    await Promise.all(
      built.scalers.map(async (s) => {
        try {
          await s.scaler.prepare?.();
        } catch (err) {
          throw new Error(`error preparing trigger ${s.index} (${s.triggerType}): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
        }
      }),
    );
  } catch (err) {
    await Promise.allSettled(built.scalers.map((s) => s.scaler.close()));
    throw err;
  }
  return built;
}

export interface ScalersCacheOptions {
  /**
   * Push scalers (external-push) report activity through this (C-98), keyed like get(); each
   * scaler streams from the moment its ScaledObject's scalers are built until they are closed.
   */
  onPushActivity?(key: string, triggerIndex: number, isActive: boolean): void;
  /** Where the scalers report their upstream HTTP requests and empty answers; default: nowhere. */
  metrics?: ScalerTrafficRecorder;
}

/** What scalers are built for: a ScaledObject or a ScaledJob. */
export type ScalableObject = ScaledObject | ScaledJob;

export const isScaledJob = (obj: ScalableObject): obj is ScaledJob => 'jobTargetRef' in (obj.spec ?? {});

/** What the scalers of one object are built from besides trigger metadata. */
export interface ScalerEnv {
  resolvedEnv: Record<string, string>;
  authParams: (index: number) => Record<string, string>;
  /** Kind of trigger `index`'s authenticationRef, when one resolved (the scalers' `authenticationKind`). */
  authenticationKind?: (index: number) => 'TriggerAuthentication' | 'ClusterTriggerAuthentication' | undefined;
}

export type ScalerEnvResolver = (obj: ScalableObject) => Promise<ScalerEnv>;

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
    private readonly options: ScalersCacheOptions = {},
  ) {}

  async get(key: string, so: ScalableObject): Promise<BuiltScalers> {
    const generation = so.metadata?.generation ?? 0;
    const existing = this.entries.get(key);
    if (existing) {
      const built = await existing.catch(() => undefined);
      if (built && built.generation === generation) return built;
      await this.invalidate(key);
    }
    const building = this.build(key, so, generation);
    this.entries.set(key, building);
    building.catch(() => {
      if (this.entries.get(key) === building) this.entries.delete(key);
    });
    return building;
  }

  private async build(key: string, obj: ScalableObject, generation: number): Promise<BuiltScalers> {
    const env = await this.resolveEnv(obj);
    const scaledJob = isScaledJob(obj);
    const built = await buildScalers(
      this.registry,
      this.context,
      {
        kind: scaledJob ? 'ScaledJob' : 'ScaledObject',
        namespace: obj.metadata?.namespace ?? '',
        name: obj.metadata?.name ?? '',
        generation,
        triggers: obj.spec.triggers as ScaledObject['spec']['triggers'],
        // Triggers feeding a scaling-modifiers formula are metric sources: their own targets may be 0.
        asMetricSource: !scaledJob && isUsingModifiers(obj),
      },
      env,
      this.options.metrics,
    );
    const onPush = this.options.onPushActivity;
    if (onPush) {
      for (const s of built.scalers) if (isPushScaler(s.scaler)) s.scaler.run((active) => onPush(key, s.index, active));
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
