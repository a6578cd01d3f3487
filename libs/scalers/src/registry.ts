/** The runtime registry: the descriptor registry of @keda-ts/scaler-sdk plus building scalers. */
import { checkInput, createDescriptorRegistry, ScalerConfigError, unknownTypeProblem, type DescriptorRegistry, type ParamSpecs } from '@keda-ts/scaler-sdk';
import type { ScalerContext } from './context';
import type { ScalerImplementation } from './implementation';
import type { Scaler, ScalerInput } from '@keda-ts/scaler-sdk';

export interface ScalerRegistry extends DescriptorRegistry<ScalerImplementation> {
  /** Builds the scaler; throws ScalerConfigError carrying all problems. */
  build(input: ScalerInput, ctx: ScalerContext): Scaler;
}

export function createRegistry(implementations: readonly ScalerImplementation<ParamSpecs>[]): ScalerRegistry {
  const descriptors = createDescriptorRegistry(implementations as readonly ScalerImplementation[]);
  return {
    ...descriptors,
    build(input, ctx) {
      const d = descriptors.descriptor(input.triggerType);
      if (!d) throw new ScalerConfigError(input.triggerType, input.triggerIndex, [unknownTypeProblem(input.triggerType, descriptors.types())]);
      const checked = checkInput(d, input);
      if (!checked.config) throw new ScalerConfigError(input.triggerType, input.triggerIndex, checked.problems);
      for (const notice of checked.notices) {
        ctx.logger?.info({ scaler: input.triggerType, triggerIndex: input.triggerIndex, scalableObject: input.scalableObject }, notice);
      }
      return d.create(checked.config, input, ctx);
    },
  };
}
