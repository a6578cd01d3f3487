/** Steps of the ScaledObject and ScaledJob reconcile pipelines: a failed step names the Ready=False message. */

/** A reconcile step failed: `step` is the step's message (the Ready=False message prefix, C-19). */
export class StepError extends Error {
  constructor(
    readonly step: string,
    override readonly cause: unknown,
  ) {
    super(`${step}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/** Runs one step; whatever it throws becomes a StepError named `message`. */
export async function step<T>(message: string, fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new StepError(message, err);
  }
}

/** The failed step's message and cause; `fallback` names a failure outside any step. */
export function stepFailure(err: unknown, fallback: string): { message: string; cause: unknown } {
  return err instanceof StepError ? { message: err.step, cause: err.cause } : { message: fallback, cause: err };
}
