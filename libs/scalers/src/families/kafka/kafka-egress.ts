/**
 * The egress policy on every broker connection of the kafka scaler's @platformatic/kafka clients
 * (bootstrap servers, and the brokers and coordinators the cluster's metadata names).
 *
 * The client has no socket-factory option, so the check rides on two public hooks:
 *
 * - the client's `context` option, which every Connection it opens carries (`connection.context`):
 *   a token registered here says which policy applies (other clients in the process are left alone);
 * - the client's `plt:kafka:connections:connects` tracing channel (`connectionsConnectsChannel`),
 *   whose `end` event is published synchronously by `Connection#connect` right after it created the
 *   socket (`connection.socket`), before Node looked the host up or connected.
 *
 * There, an IP-literal host (for which Node does no lookup) and the metadata host names are
 * checked at once; for a host name, the socket's documented `lookup` event (emitted for every
 * resolved address before Node connects, which it skips once the socket is destroyed) checks each
 * address. A refusal destroys the socket with the EgressDeniedError before any packet is sent; the
 * client reports it as the cause of its connection error. A name that resolves to any refused
 * address is refused as a whole.
 */
import type { Socket } from 'node:net';
import type { Connection } from '@platformatic/kafka';
import { EgressDeniedError, type EgressPolicy } from '../../net/egress-policy';
import { platformaticKafka } from './kafka-client';

/** Policy of each client, by the `context` token the client was built with. */
const policies = new WeakMap<object, EgressPolicy>();
/** Sockets already guarded (`end` is also published when `connect` finds the connection established). */
const guarded = new WeakSet<Socket>();
let subscribed = false;

/** The `context` option for a client whose connections `policy` must allow. */
export function kafkaEgressContext(policy: EgressPolicy): object {
  if (!subscribed) {
    platformaticKafka().connectionsConnectsChannel.end.subscribe(onConnectEnd);
    subscribed = true;
  }
  const token = Object.freeze({ egressPolicy: policy.id });
  policies.set(token, policy);
  return token;
}

function onConnectEnd(message: unknown): void {
  const { connection, host } = (message ?? {}) as { connection?: Connection; host?: unknown };
  const context = connection?.context;
  const policy = typeof context === 'object' && context !== null ? policies.get(context) : undefined;
  if (!connection || !policy) return;
  let socket: Socket | undefined;
  try {
    socket = connection.socket;
    if (!socket || guarded.has(socket) || !socket.connecting) return;
    guard(socket, String(host), policy);
  } catch (err) {
    // Never thrown into the channel (it would be rethrown as an uncaught exception): fail closed.
    socket?.destroy(err instanceof Error ? err : new Error(String(err)));
  }
}

function guard(socket: Socket, host: string, policy: EgressPolicy): void {
  guarded.add(socket);
  // Idle broker connections are kept between polls: let the kernel notice a vanished peer.
  socket.setKeepAlive(true, 60_000);
  const denied = policy.hostError(host);
  if (denied) {
    socket.destroy(denied);
    return;
  }
  socket.on('lookup', (err: Error | null, address: string | undefined, _family: unknown, name: string | undefined) => {
    if (err || typeof address !== 'string' || socket.destroyed) return;
    const decision = policy.checkAddress(address);
    if (!decision.allowed) socket.destroy(new EgressDeniedError(name ?? host, address, decision.reason));
  });
}
