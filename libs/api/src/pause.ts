/**
 * Parsing of the pause-related annotations (autoscaling.keda.sh/*) with KEDA's Go semantics.
 */
import { Annotations } from './constants';
import { fieldPath, type Problem } from './problems';

const GO_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const GO_FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Go's strconv.ParseBool: undefined when the value is not one of the accepted spellings. */
export function parseGoBool(value: string): boolean | undefined {
  if (GO_TRUE.has(value)) return true;
  if (GO_FALSE.has(value)) return false;
  return undefined;
}

/**
 * Value of a boolean annotation as KEDA reads it: absent -> false; a parsable bool -> its value;
 * anything else (including "") -> true.
 */
export function isAnnotationTruthy(value: string | undefined): boolean {
  if (value === undefined) return false;
  return parseGoBool(value) ?? true;
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** Go's strconv.ParseInt(s, 10, 32): undefined when the value is not a base-10 int32. */
export function parseGoInt32(value: string): number | undefined {
  if (!/^[+-]?\d+$/.test(value)) return undefined;
  const n = Number(value);
  return n >= INT32_MIN && n <= INT32_MAX ? n : undefined;
}

export interface PauseState {
  /** `autoscaling.keda.sh/paused` is truthy. */
  paused: boolean;
  /** `autoscaling.keda.sh/paused-replicas` is present (any value). */
  pausedReplicasSet: boolean;
  /** The parsed paused-replicas value; undefined when absent or not an int32. */
  pausedReplicaCount?: number;
  /** Full pause: paused-replicas present, or paused truthy. */
  fullyPaused: boolean;
  pausedScaleIn: boolean;
  pausedScaleOut: boolean;
  forceActivation: boolean;
  /** Any pause in effect (full, scale-in or scale-out): the Paused condition is True. */
  anyPause: boolean;
  /** An unparsable paused-replicas value (a reconcile error in KEDA). */
  problems: Problem[];
}

const annotationField = (key: string) => fieldPath('metadata', 'annotations', key);

/** Reads the pause annotations of a ScaledObject. */
export function parsePauseAnnotations(annotations: Readonly<Record<string, string>> | undefined): PauseState {
  const a = annotations ?? {};
  const paused = isAnnotationTruthy(a[Annotations.Paused]);
  const rawReplicas = a[Annotations.PausedReplicas];
  const pausedReplicasSet = rawReplicas !== undefined;
  const problems: Problem[] = [];
  let pausedReplicaCount: number | undefined;
  if (rawReplicas !== undefined) {
    pausedReplicaCount = parseGoInt32(rawReplicas);
    if (pausedReplicaCount === undefined) {
      problems.push({
        field: annotationField(Annotations.PausedReplicas),
        message: `annotation ${Annotations.PausedReplicas} must be an int32 (a whole number from ${INT32_MIN} to ${INT32_MAX}), got ${JSON.stringify(rawReplicas)}`,
      });
    }
  }
  const pausedScaleIn = isAnnotationTruthy(a[Annotations.PausedScaleIn]);
  const pausedScaleOut = isAnnotationTruthy(a[Annotations.PausedScaleOut]);
  const fullyPaused = paused || pausedReplicasSet;
  const state: PauseState = {
    paused,
    pausedReplicasSet,
    fullyPaused,
    pausedScaleIn,
    pausedScaleOut,
    forceActivation: isAnnotationTruthy(a[Annotations.ForceActivation]),
    anyPause: fullyPaused || pausedScaleIn || pausedScaleOut,
    problems,
  };
  if (pausedReplicaCount !== undefined) state.pausedReplicaCount = pausedReplicaCount;
  return state;
}

/** ScaledJob pause: only `autoscaling.keda.sh/paused`, and an unparsable value counts as paused. */
export function isScaledJobPaused(annotations: Readonly<Record<string, string>> | undefined): boolean {
  return isAnnotationTruthy(annotations?.[Annotations.Paused]);
}

/** Splits a comma-separated label-key annotation (hpa-excluded-labels, job-excluded-labels). */
export function parseExcludedLabels(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
