/** Kubernetes events that the scale-loop decisions ask the caller to emit (notes exactly as KEDA writes them, §2.16). */
import type { EventReason } from '@keda-ts/api';

export interface ScaleEvent {
  type: 'Normal' | 'Warning';
  reason: EventReason;
  note: string;
}
