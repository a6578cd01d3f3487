/**
 * What a scaler declares: its parameters (data) and a cross-field check. The factory that builds a
 * scaler from a valid config is bound to the descriptor in @keda-ts/scalers (`implementScaler`).
 */
import { checkTriggerMetricTypes } from '@keda-ts/api';
import { parseParams, type ParamSpecs, type ParsedParams } from './params';
import type { MetricTargetTypeName, ParameterProblem, ScalerInput } from './types';

/** A message, or a problem naming a parameter. */
export type ValidationIssue = string | ParameterProblem;

export interface ScalerDescriptor<P extends ParamSpecs = ParamSpecs, C = ParsedParams<P>> {
  /** The trigger `type` string. */
  readonly type: string;
  /** One paragraph for the docs. */
  readonly description: string;
  /** The parameters, declared once. */
  readonly params: P;
  /** Metric types the trigger accepts (`metricType`); external scalers: AverageValue and Value. */
  readonly metricTypes: readonly MetricTargetTypeName[];
  /** Kinds the trigger may be used in (cpu/memory: ScaledObject only). */
  readonly kinds: readonly ('ScaledObject' | 'ScaledJob')[];
  /**
   * Trigger metadata of the example in the generated docs page. The example is checked against
   * this descriptor by the registry tests, so it stays valid.
   */
  readonly example?: Readonly<Record<string, string>>;
  /**
   * Parameters the docs example reads from a TriggerAuthentication (parameter -> example value;
   * rendered as a Secret plus `secretTargetRef`). Each must list `authParams` in its `order`.
   */
  readonly exampleAuth?: Readonly<Record<string, string>>;
  /** Cross-field checks after every parameter parsed without error. */
  validate?(config: C, input: ScalerInput): ValidationIssue[];
}

/** Input of describeScaler: metricTypes and kinds have defaults. */
export type ScalerDefinition<P extends ParamSpecs, C> = Omit<ScalerDescriptor<P, C>, 'metricTypes' | 'kinds'> &
  Partial<Pick<ScalerDescriptor<P, C>, 'metricTypes' | 'kinds'>>;

/** Declares a scaler's descriptor; the config type is inferred from the parameter declarations. */
export function describeScaler<P extends ParamSpecs>(def: ScalerDefinition<P, ParsedParams<P>>): ScalerDescriptor<P> {
  return {
    metricTypes: ['AverageValue', 'Value'],
    kinds: ['ScaledObject', 'ScaledJob'],
    ...def,
  };
}

/** Thrown when building a scaler from invalid metadata: carries every problem. Messages never contain secret values. */
export class ScalerConfigError extends Error {
  override readonly name = 'ScalerConfigError';
  constructor(
    readonly triggerType: string,
    readonly triggerIndex: number,
    readonly problems: ParameterProblem[],
  ) {
    super(`error parsing ${triggerType} metadata (trigger ${triggerIndex}): ${problems.map((p) => p.message).join('; ')}`);
  }
}

export interface CheckedInput<C> {
  config?: C;
  problems: ParameterProblem[];
  notices: string[];
  consumedMetadataKeys: string[];
}

const toProblem = (issue: ValidationIssue): ParameterProblem => (typeof issue === 'string' ? { message: issue } : issue);

/** Parses and validates one trigger against a descriptor; `config` is set only when there is no problem. */
export function checkInput<P extends ParamSpecs>(
  descriptor: ScalerDescriptor<P>,
  input: ScalerInput,
): CheckedInput<ParsedParams<P>> {
  const problems: ParameterProblem[] = [];
  if (!descriptor.kinds.includes(input.scalableObject.kind)) {
    problems.push({ message: `the ${descriptor.type} scaler is not supported in a ${input.scalableObject.kind}` });
  }
  if (input.metricType && !descriptor.metricTypes.includes(input.metricType)) {
    const fromApi = checkTriggerMetricTypes([{ type: descriptor.type, metricType: input.metricType }]);
    problems.push(
      ...(fromApi.length > 0
        ? fromApi.map((p) => ({ message: p.message }))
        : [{ message: `metricType ${JSON.stringify(input.metricType)} is not supported by the ${descriptor.type} scaler, allowed values are ${descriptor.metricTypes.map((t) => `'${t}'`).join(' or ')}` }]),
    );
  }
  const parsed = parseParams(descriptor.params, input, descriptor.type);
  problems.push(...parsed.problems);
  if (parsed.problems.length === 0 && descriptor.validate) {
    problems.push(...descriptor.validate(parsed.config, input).map(toProblem));
  }
  return {
    config: problems.length === 0 ? parsed.config : undefined,
    problems,
    notices: parsed.notices,
    consumedMetadataKeys: parsed.consumedMetadataKeys,
  };
}
