/**
 * The activation threshold of a trigger, found generically from its scaler's declared parameters:
 * the first numeric parameter whose name starts with `activation` (activationValue,
 * activationLagThreshold, activationQueueLength, ...). Used to explain why a ScaledObject is or is
 * not active; scalers without one (cron, cpu, memory) give undefined.
 */
import { checkInput, type ScalerDescriptor } from './descriptor';
import type { ScalerInput } from './types';

export interface ActivationThreshold {
  /** The parameter's name as a user writes it in the trigger metadata. */
  parameter: string;
  /** Its effective value (given or default). */
  threshold: number;
}

const NUMERIC_KINDS = new Set(['int', 'float', 'quantity']);

export function activationThresholdOf(
  descriptor: ScalerDescriptor,
  input: ScalerInput,
): ActivationThreshold | undefined {
  const entry = Object.entries(descriptor.params).find(
    ([, spec]) => NUMERIC_KINDS.has(spec.kind) && spec.names[0].startsWith('activation'),
  );
  if (!entry) return undefined;
  const { config } = checkInput(descriptor, input);
  const value = (config as Record<string, unknown> | undefined)?.[entry[0]];
  return typeof value === 'number' && Number.isFinite(value)
    ? { parameter: entry[1].names[0], threshold: value }
    : undefined;
}
