/** The exit codes of `keda-ts` (documented in apps/cli/README.md). */
export const ExitCode = {
  /** Done: explained, or the manifest is valid and every trigger answered. */
  Ok: 0,
  /** `check`: the manifest is invalid (the webhook would reject it). */
  Invalid: 1,
  /** Bad command line, unreadable file, or a manifest that is not YAML. */
  Usage: 2,
  /** `check`: valid, but at least one trigger could not be queried. */
  TriggerFailed: 3,
  /** `explain`: the object does not exist. */
  NotFound: 4,
  /** The cluster or the controller could not be reached. */
  Unreachable: 5,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A failure that ends the command with a given exit code and a one-line message. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
  }
}
