/** Serves the decision traces over the controller's gRPC port (kedats.debug.v1.DecisionDebug). */
import type { DecisionDebugProvider } from '@keda-ts/metrics-service';
import type { debugProto } from '@keda-ts/proto';
import type { DecisionRecord, DecisionTraces, TracedKind } from './decision-trace';

function toPollTrace(r: DecisionRecord): debugProto.PollTrace {
  return {
    time: r.time,
    currentReplicas: r.currentReplicas,
    durationMs: r.durationMs,
    triggers: r.triggers.map((t) => ({
      index: t.index,
      name: t.name ?? '',
      type: t.type,
      metricName: t.metricName,
      value: t.value,
      activationParameter: t.activation?.parameter ?? '',
      activationThreshold: t.activation?.threshold,
      targetType: t.target?.type ?? '',
      targetValue: t.target?.value,
      active: t.isActive,
      error: t.error ?? '',
      outcome: t.outcome,
      latencyMs: t.latencyMs,
    })),
    decision: {
      action: r.decision.action,
      rule: r.decision.rule,
      outcome: r.explanation.outcome,
      reason: r.explanation.reason,
      summary: r.explanation.summary,
      hints: r.explanation.hints,
      scaleTo: r.decision.scaleTo,
      wrote: r.decision.wrote,
      cooldownRemainingMs: r.decision.cooldownRemainingMs === undefined ? undefined : Math.round(r.decision.cooldownRemainingMs),
    },
  };
}

export function decisionDebugProvider(traces: DecisionTraces): DecisionDebugProvider {
  return {
    explain(request) {
      const kind = request.kind as TracedKind;
      const polls = traces.list(kind, request.namespace, request.name);
      if (polls.length === 0) return undefined;
      const limited = request.limit > 0 ? polls.slice(0, request.limit) : polls;
      return { kind, namespace: request.namespace, name: request.name, polls: limited.map(toPollTrace) };
    },
    listTraced: () => traces.objects(),
  };
}
