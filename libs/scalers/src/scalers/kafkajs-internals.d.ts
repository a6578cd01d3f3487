/**
 * Minimal types of the kafkajs 2.2.4 internals the kafka scaler uses (kafkajs is frozen upstream:
 * no release since 2023, so these modules do not move). Only what kafka-client.ts and
 * kafka-protocol.ts call is declared.
 */

declare module 'kafkajs/src/protocol/encoder' {
  class Encoder {
    constructor(initialSize?: number);
    writeInt8(value: number): this;
    writeInt16(value: number): this;
    writeInt32(value: number): this;
    writeInt64(value: number | string): this;
    writeBoolean(value: boolean): this;
    writeString(value: string | null): this;
    writeUVarInt(value: number): this;
    writeUVarIntString(value: string | null): this;
    writeEncoder(value: Encoder): this;
    size(): number;
    readonly buffer: Buffer;
  }
  export = Encoder;
}

declare module 'kafkajs/src/protocol/decoder' {
  class Decoder {
    constructor(buffer: Buffer);
    readonly buffer: Buffer;
    offset: number;
    readInt8(): number;
    readInt16(): number;
    readInt32(): number;
    readInt64(): { toString(): string };
    readBoolean(): boolean;
    readUVarInt(): number;
    readUVarIntString(): string | null;
    canReadBytes(length: number): boolean;
    forward(size: number): void;
  }
  export = Decoder;
}

declare module 'kafkajs/src/protocol/error' {
  /** A KafkaJSProtocolError (`type`, `code`, `retriable`, kafkajs' message) for a Kafka error code. */
  export function createErrorFromCode(
    code: number,
  ): Error & { type: string; code: number; retriable: boolean };
}

declare module 'kafkajs/src/loggers' {
  import type { logCreator } from 'kafkajs';
  export interface InternalLogger {
    namespace(name: string): InternalLogger;
    debug(message: string, extra?: object): void;
    info(message: string, extra?: object): void;
    warn(message: string, extra?: object): void;
    error(message: string, extra?: object): void;
  }
  export function createLogger(options: { level: number; logCreator: logCreator }): InternalLogger;
}

declare module 'kafkajs/src/cluster' {
  import type { ISocketFactory, RetryOptions, SASLOptions } from 'kafkajs';
  import type { ConnectionOptions } from 'node:tls';
  import type { InternalLogger } from 'kafkajs/src/loggers';

  namespace Cluster {
    /** A request of the wire protocol as kafkajs' Connection#send takes it. */
    interface ProtocolRequest<T> {
      request: { apiKey: number; apiVersion: number; apiName: string; encode(): Promise<unknown> };
      response: { decode(payload: Buffer): Promise<T>; parse(decoded: T): Promise<T> };
      requestTimeout?: number;
    }

    interface Broker {
      nodeId: number | null;
      /** ApiVersions of the broker, by api key (set once connected). */
      versions: Record<number, { minVersion: number; maxVersion: number }> | null;
      connectionPool: { send<T>(request: ProtocolRequest<T>): Promise<T> };
      isConnected(): boolean;
      disconnect(): Promise<void>;
      offsetFetch(request: {
        groupId: string;
        topics: { topic: string; partitions: { partition: number }[] }[];
      }): Promise<{
        responses: {
          topic: string;
          partitions: { partition: number; offset: string; errorCode: number }[];
        }[];
      }>;
    }

    interface PartitionMetadata {
      partitionId: number;
      leader: number;
      partitionErrorCode: number;
    }

    interface Options {
      logger: InternalLogger;
      socketFactory: ISocketFactory;
      brokers: string[];
      ssl?: ConnectionOptions | boolean;
      sasl?: SASLOptions;
      clientId: string;
      connectionTimeout: number;
      authenticationTimeout: number;
      requestTimeout: number;
      enforceRequestTimeout: boolean;
      metadataMaxAge: number;
      retry: RetryOptions;
      allowAutoTopicCreation: boolean;
    }
  }

  class Cluster {
    constructor(options: Cluster.Options);
    targetTopics: Set<string>;
    connect(): Promise<void>;
    disconnect(): Promise<void>;
    isConnected(): boolean;
    refreshMetadata(): Promise<void>;
    refreshMetadataIfNecessary(): Promise<void>;
    addMultipleTargetTopics(topics: string[]): Promise<void>;
    findTopicPartitionMetadata(topic: string): Cluster.PartitionMetadata[];
    findBroker(options: { nodeId: number | string }): Promise<Cluster.Broker>;
    findGroupCoordinatorMetadata(options: {
      groupId: string;
      coordinatorType?: number;
    }): Promise<{ coordinator: { nodeId: number; host: string; port: number } }>;
    fetchTopicsOffset(
      topics: { topic: string; partitions: { partition: number }[]; fromBeginning: boolean }[],
    ): Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>;
  }
  export = Cluster;
}
