/** The scaler registry: trigger type -> descriptor; validates metadata and builds scalers. */
import { checkInput, ScalerConfigError, type ScalerDescriptor } from './descriptor';
import type { ParamSpecs } from './params';
import type { ParameterProblem, Scaler, ScalerContext, ScalerInput } from './types';

export interface ScalerRegistry {
  /** Known trigger types, sorted. */
  types(): string[];
  descriptor(type: string): ScalerDescriptor | undefined;
  /** Every problem of one trigger; an unknown type gives one problem naming it and the known ones. */
  validate(input: ScalerInput): ParameterProblem[];
  /** Builds the scaler; throws ScalerConfigError carrying all problems. */
  build(input: ScalerInput, ctx: ScalerContext): Scaler;
}

/** KEDA's message for an unknown type, plus the list of what this registry knows. */
export function unknownTypeProblem(type: string, known: readonly string[]): ParameterProblem {
  return { message: `no scaler found for type: ${type} (known types: ${known.join(', ')})` };
}

/** Metadata keys a trigger sets that its scaler does not read (KEDA only warns about these). */
export function unexpectedMetadataKeys(descriptor: ScalerDescriptor, metadata: Record<string, string>): string[] {
  const consumed = new Set(
    checkInput(descriptor, {
      triggerIndex: 0,
      triggerType: descriptor.type,
      metadata: {},
      resolvedEnv: {},
      authParams: {},
      scalableObject: { kind: 'ScaledObject', namespace: '', name: '' },
    }).consumedMetadataKeys,
  );
  return Object.keys(metadata).filter((k) => !consumed.has(k));
}

export function createRegistry(descriptors: readonly ScalerDescriptor<ParamSpecs>[]): ScalerRegistry {
  const byType = new Map<string, ScalerDescriptor>();
  for (const d of descriptors) {
    if (byType.has(d.type)) throw new Error(`scaler type ${d.type} registered twice`);
    byType.set(d.type, d as ScalerDescriptor);
  }
  const types = [...byType.keys()].sort();
  return {
    types: () => [...types],
    descriptor: (type) => byType.get(type),
    validate(input) {
      const d = byType.get(input.triggerType);
      if (!d) return [unknownTypeProblem(input.triggerType, types)];
      return checkInput(d, input).problems;
    },
    build(input, ctx) {
      const d = byType.get(input.triggerType);
      if (!d) throw new ScalerConfigError(input.triggerType, input.triggerIndex, [unknownTypeProblem(input.triggerType, types)]);
      const checked = checkInput(d, input);
      if (!checked.config) throw new ScalerConfigError(input.triggerType, input.triggerIndex, checked.problems);
      for (const notice of checked.notices) {
        ctx.logger?.info({ scaler: input.triggerType, triggerIndex: input.triggerIndex, scalableObject: input.scalableObject }, notice);
      }
      return d.create(checked.config, input, ctx);
    },
  };
}
