/** Binds a descriptor of @keda-ts/scaler-sdk to the factory that builds its scaler. */
import { describeScaler, type ParamSpecs, type ParsedParams, type Scaler, type ScalerDefinition, type ScalerDescriptor, type ScalerInput, type ValidationIssue } from '@keda-ts/scaler-sdk';
import type { ScalerContext } from './context';

/** A descriptor plus its factory: what the runtime registry builds scalers from. */
export interface ScalerImplementation<P extends ParamSpecs = ParamSpecs, C = ParsedParams<P>> extends ScalerDescriptor<P, C> {
  /** Builds the scaler from a valid config. */
  create(config: C, input: ScalerInput, ctx: ScalerContext): Scaler;
}

/**
 * The implementation of `descriptor`: its declarations unchanged, plus `create`. `check` adds
 * problems only the client library can find (e.g. the MongoDB driver's own parse of a URI); it runs
 * after the descriptor's `validate` (`earlier`: what that found), in the controller and the CLI but
 * not in the webhook, which has the descriptors only.
 */
export function implementScaler<P extends ParamSpecs, C>(
  descriptor: ScalerDescriptor<P, C>,
  create: (config: C, input: ScalerInput, ctx: ScalerContext) => Scaler,
  check?: (config: C, input: ScalerInput, earlier: readonly ValidationIssue[]) => ValidationIssue[],
): ScalerImplementation<P, C> {
  if (!check) return { ...descriptor, create };
  const validate = (config: C, input: ScalerInput): ValidationIssue[] => {
    const earlier = descriptor.validate?.(config, input) ?? [];
    return [...earlier, ...check(config, input, earlier)];
  };
  return { ...descriptor, validate, create };
}

/** Declares a descriptor and its factory at once (tests, scalers outside this library). */
export function defineScaler<P extends ParamSpecs>(
  def: ScalerDefinition<P, ParsedParams<P>> & { create(config: ParsedParams<P>, input: ScalerInput, ctx: ScalerContext): Scaler },
): ScalerImplementation<P> {
  const { create, ...rest } = def;
  return implementScaler(describeScaler<P>(rest), create);
}
