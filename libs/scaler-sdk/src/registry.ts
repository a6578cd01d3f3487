/** The descriptor registry: trigger type -> descriptor; validates metadata without building scalers. */
import { checkInput, type ScalerDescriptor } from './descriptor';
import type { ParamSpecs } from './params';
import type { ParameterProblem, ScalerInput } from './types';

export interface DescriptorRegistry<D extends ScalerDescriptor = ScalerDescriptor> {
  /** Known trigger types, sorted. */
  types(): string[];
  descriptor(type: string): D | undefined;
  /** Every problem of one trigger; an unknown type gives one problem naming it and the known ones. */
  validate(input: ScalerInput): ParameterProblem[];
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

/** A registry of `descriptors`; a type registered twice throws. */
export function createDescriptorRegistry<D extends ScalerDescriptor<ParamSpecs>>(descriptors: readonly D[]): DescriptorRegistry<D> {
  const byType = new Map<string, D>();
  for (const d of descriptors) {
    if (byType.has(d.type)) throw new Error(`scaler type ${d.type} registered twice`);
    byType.set(d.type, d);
  }
  const types = [...byType.keys()].sort();
  return {
    types: () => [...types],
    descriptor: (type) => byType.get(type),
    validate(input) {
      const d = byType.get(input.triggerType);
      if (!d) return [unknownTypeProblem(input.triggerType, types)];
      return checkInput(d as ScalerDescriptor, input).problems;
    },
  };
}
