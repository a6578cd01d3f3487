import type { Server, ServerWritableStream, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';

export type { ServingStatus };

/**
 * The standard gRPC health service (`grpc.health.v1.Health`: Check, Watch and List) of
 * grpc-health-check. The service name "" is the whole server. It also keeps the server-streaming
 * calls (Watch) it serves, so that shutdown can end them instead of waiting for them to drain.
 */
export class HealthService extends HealthImplementation {
  private readonly streams = new Set<ServerWritableStream<unknown, unknown>>();

  override addToServer(server: Pick<Server, 'addService'>): void {
    const streams = this.streams;
    super.addToServer({
      addService(service, implementation) {
        const wrapped: UntypedServiceImplementation = { ...implementation };
        for (const [name, method] of Object.entries(service as ServiceDefinition)) {
          if (!method.responseStream || method.requestStream) continue;
          for (const key of [name, method.originalName ?? name]) {
            const handler = implementation[key] as ((call: ServerWritableStream<unknown, unknown>) => void) | undefined;
            if (!handler) continue;
            wrapped[key] = (call: ServerWritableStream<unknown, unknown>) => {
              streams.add(call);
              const remove = () => streams.delete(call);
              call.on('cancelled', remove);
              call.on('close', remove);
              handler(call);
            };
          }
        }
        server.addService(service as ServiceDefinition, wrapped);
      },
    });
  }

  /** Ends all Watch streams (on shutdown, so draining does not wait for them). */
  endWatches(): void {
    for (const call of this.streams) call.end();
    this.streams.clear();
  }
}
