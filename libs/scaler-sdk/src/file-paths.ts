/** Whether a trigger may name files on the controller (the reading itself is in @keda-ts/scalers: vetted-file). */
/**
 * Whether a trigger may name files at all: its auth came from a ClusterTriggerAuthentication and
 * the operator set a root. Otherwise the reason, for a message naming the option.
 */
export function filePathsAllowed(authenticationKind: string | undefined, fromAuthParams: boolean, root: string | undefined): string | undefined {
  if (authenticationKind !== 'ClusterTriggerAuthentication' || !fromAuthParams)
    return 'file paths are accepted only from a ClusterTriggerAuthentication; give the certificate as PEM content in a TriggerAuthentication parameter instead';
  if (!root) return 'file paths need the operator to set --filepath-auth-root-path';
  return undefined;
}
