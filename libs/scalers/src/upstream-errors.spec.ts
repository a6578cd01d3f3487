import { LocalError, bodyParseError, describeValue, jsonTypeName, safeErrorText, upstreamError } from './upstream-errors';

const MARKER = 'MARKER-c0ffee';
const hostile = (props: Record<string, unknown>, name = 'Error'): Error =>
  Object.assign(new Error(`server says ${MARKER}`), props, { name });

describe('safe text of upstream errors', () => {
  it.each<[string, unknown, string]>([
    ['a node system error', Object.assign(new Error(`connect ECONNREFUSED ${MARKER}`), { code: 'ECONNREFUSED', syscall: 'connect', address: '127.0.0.1', port: 5432, errno: -111 }), 'ECONNREFUSED (connect 127.0.0.1:5432)'],
    ['a DNS failure', Object.assign(new Error(`getaddrinfo ENOTFOUND ${MARKER}`), { code: 'ENOTFOUND', syscall: 'getaddrinfo', hostname: 'db.example' }), 'ENOTFOUND (getaddrinfo db.example)'],
    ['a TLS altname error (names from the certificate)', hostile({ code: 'ERR_TLS_CERT_ALTNAME_INVALID', reason: MARKER, cert: { subjectaltname: MARKER } }), "ERR_TLS_CERT_ALTNAME_INVALID (the server certificate's names do not match the host)"],
    ['an untrusted certificate', hostile({ code: 'SELF_SIGNED_CERT_IN_CHAIN' }), 'SELF_SIGNED_CERT_IN_CHAIN (self-signed certificate in the certificate chain)'],
    ['an amqplib handshake refused', new Error(`Handshake terminated by server: 403 (ACCESS-REFUSED) with message "${MARKER}"`), 'handshake refused by the server: 403 ACCESS_REFUSED'],
    ["the redis scaler's own type reply", Object.assign(new Error('key has type string, expected list, set, sorted set or hash'), { name: 'ReplyError' }), 'key has type string, expected list, set, sorted set or hash'],
    ['that reply with another word', Object.assign(new Error(`key has type ${MARKER}, expected list, set, sorted set or hash`), { name: 'ReplyError' }), 'server replied with an error'],
    ['an HTTP parser error', hostile({ code: 'HPE_INVALID_HEADER_TOKEN', rawPacket: Buffer.from(MARKER) }), 'HPE_INVALID_HEADER_TOKEN'],
    ['a pg DatabaseError', hostile({ code: '42P01', severity: 'ERROR', detail: MARKER, hint: MARKER, routine: MARKER }, 'error'), 'server error SQLSTATE 42P01 (syntax error or access rule violation)'],
    ['a pg error with a hostile code', hostile({ code: MARKER, severity: 'ERROR' }, 'error'), 'error'],
    ['a mysql2 error', hostile({ code: 'ER_NO_SUCH_TABLE', errno: 1146, sqlState: '42S02', sqlMessage: MARKER }), 'server error ER_NO_SUCH_TABLE errno 1146 SQLSTATE 42S02'],
    ['a MongoServerError', hostile({ code: 13, codeName: 'Unauthorized', errmsg: MARKER, errorResponse: { errmsg: MARKER } }, 'MongoServerError'), 'MongoServerError code 13 (Unauthorized)'],
    ['a MongoServerError with a hostile codeName', hostile({ code: 13, codeName: `${MARKER} x` }, 'MongoServerError'), 'MongoServerError code 13'],
    ['a Mongo network error with a cause', Object.assign(hostile({}, 'MongoNetworkError'), { cause: Object.assign(new Error(MARKER), { code: 'ECONNRESET', syscall: 'read' }) }), 'MongoNetworkError: ECONNRESET (read)'],
    ['a redis reply error', hostile({}, 'ReplyError'), 'server replied with an error'],
    ['a redis WRONGTYPE reply', Object.assign(new Error(`WRONGTYPE ${MARKER}`), { name: 'ReplyError' }), 'server replied with an error WRONGTYPE'],
    ['an AWS SDK error', hostile({ $metadata: { httpStatusCode: 400 }, $fault: 'client' }, 'QueueDoesNotExist'), 'QueueDoesNotExist (HTTP 400)'],
    ['an AWS SDK error with a hostile name', hostile({ $metadata: { httpStatusCode: 400 } }, `${MARKER} <x>`), 'Error (HTTP 400)'],
    ['an Azure RestError', hostile({ statusCode: 404, code: 'QueueNotFound', details: { message: MARKER } }, 'RestError'), 'status 404 QueueNotFound'],
    ['a gRPC error', hostile({ code: 3, details: MARKER, metadata: {} }), 'gRPC status 3 INVALID_ARGUMENT'],
    ['an amqplib channel close', Object.assign(new Error(`Channel closed by server: 404 (NOT-FOUND) with message "${MARKER}"`), { code: 404, classId: 50, methodId: 10 }), 'closed by the server: 404 NOT_FOUND'],
    ['a Kafka protocol error', hostile({ code: 'PLT_KFK_PROTOCOL', apiId: 'UNKNOWN_TOPIC_OR_PARTITION', apiCode: 3, serverErrorMessage: MARKER }), 'Kafka error UNKNOWN_TOPIC_OR_PARTITION'],
    ['a Kafka protocol error with a hostile apiId', hostile({ code: 'PLT_KFK_PROTOCOL', apiId: MARKER }), 'PLT_KFK_PROTOCOL'],
    [
      'a Kafka SASL failure',
      hostile({ code: 'PLT_KFK_NETWORK', cause: hostile({ code: 'PLT_KFK_AUTHENTICATION', cause: hostile({ code: 'PLT_KFK_RESPONSE', errors: [hostile({ code: 'PLT_KFK_PROTOCOL', apiId: 'SASL_AUTHENTICATION_FAILED' })] }) }) }),
      'PLT_KFK_NETWORK (network error): PLT_KFK_AUTHENTICATION (SASL authentication failed): Kafka error SASL_AUTHENTICATION_FAILED',
    ],
    [
      'Kafka retries that failed to connect',
      Object.assign(new AggregateError([hostile({ code: 'PLT_KFK_NETWORK', cause: Object.assign(new Error(MARKER), { code: 'ECONNREFUSED', syscall: 'connect', address: '127.0.0.1', port: 1 }) })], MARKER), { code: 'PLT_KFK_MULTIPLE' }),
      'PLT_KFK_NETWORK (network error): ECONNREFUSED (connect 127.0.0.1:1)',
    ],
    ['a fixed library message', new Error('Connection terminated unexpectedly'), 'Connection terminated unexpectedly'],
    ['an unknown error', hostile({}), 'Error'],
    ['a string', MARKER, 'unknown error'],
    ['our own error', new LocalError('request timed out after 5ms'), 'request timed out after 5ms'],
    ['an abort', Object.assign(new Error(MARKER), { name: 'AbortError' }), 'aborted'],
  ])('%s', (_, err, expected) => {
    const text = safeErrorText(err);
    expect(text).toBe(expected);
    expect(text).not.toContain(MARKER);
  });

  it('upstreamError prefixes, redacts and attaches no cause', () => {
    const e = upstreamError('error querying x', Object.assign(new Error(MARKER), { code: 'ECONNREFUSED', syscall: 'connect', address: '10.0.0.1', port: 1 }), ['10.0.0.1']);
    expect(e).toBeInstanceOf(LocalError);
    expect(e.message).toBe('error querying x: ECONNREFUSED (connect <redacted>:1)');
    expect(e.cause).toBeUndefined();
  });

  it('describes parse failures and values without their text', () => {
    let err: unknown;
    try {
      JSON.parse(`{"a": ${MARKER}}`);
    } catch (e) {
      err = e;
    }
    expect(bodyParseError('JSON', `{"a": ${MARKER}}`, err)).toBe('invalid JSON in response of 20 bytes (syntax error)');
    expect(bodyParseError('JSON', '', new SyntaxError('Unexpected end of JSON input'))).toBe('invalid JSON in response of 0 bytes (empty body)');
    expect(bodyParseError('YAML', MARKER, { code: 'BAD_INDENT', linePos: [{ line: 3, col: 2 }], message: MARKER })).toBe(
      'invalid YAML in response of 13 bytes at line 3 column 2 (BAD_INDENT)',
    );
    expect(describeValue(MARKER)).toBe('a string of 13 characters');
    expect(describeValue([1])).toBe('a JSON array');
    expect(jsonTypeName(null)).toBe('null');
  });
});
