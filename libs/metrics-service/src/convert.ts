import type { ExternalMetricValue as WireValue, ExternalMetricValueList } from '@keda-ts/proto/metrics';
import { parseWireQuantity, signedMilliQuantity } from '@keda-ts/api';
import type { ExternalMetricValue } from './types';

/** Our value → the wire message: whole-second timestamp (omitted for an invalid date), milli quantity. */
export function toWireValue(v: ExternalMetricValue): WireValue {
  const ms = v.timestamp.getTime();
  return {
    metricName: v.metricName,
    metricLabels: { ...(v.metricLabels ?? {}) },
    timestamp: Number.isFinite(ms) ? { seconds: Math.floor(ms / 1000), nanos: 0 } : undefined,
    value: { string: signedMilliQuantity(v.value) },
  };
}

/** The wire message → our value. A missing timestamp becomes the epoch, an empty quantity 0. */
export function fromWireValue(w: WireValue): ExternalMetricValue {
  const out: ExternalMetricValue = {
    metricName: w.metricName,
    timestamp: new Date((w.timestamp?.seconds ?? 0) * 1000 + Math.floor((w.timestamp?.nanos ?? 0) / 1e6)),
    value: parseWireQuantity(w.value?.string ?? ''),
  };
  if (Object.keys(w.metricLabels).length > 0) out.metricLabels = { ...w.metricLabels };
  return out;
}

export function toWireList(values: ExternalMetricValue[]): ExternalMetricValueList {
  return { items: values.map(toWireValue) };
}

export function fromWireList(list: ExternalMetricValueList): ExternalMetricValue[] {
  return list.items.map(fromWireValue);
}
