/** One GET whose body is read as a number, with the error messages the HTTP scalers share. */
import { upstreamError } from '../upstream-errors';
import { httpGet, type HttpGetOptions, type HttpResponse } from './get';

export interface ValueReading {
  /** What failed, first in every message (e.g. `error executing prometheus query`). */
  failure: string;
  /** Secret-free request (`GET <displayUrl>`), named for rejected statuses and unreadable bodies. */
  where: string;
  /**
   * Why the status is rejected, or undefined when the body should be read. The reason must not
   * quote the body (it is the tenant's server's): name the status, lengths, types.
   */
  rejectStatus(status: number, body: string): string | undefined;
  /** The number in the body; throws when there is none (LocalError messages are shown, others by class only). */
  parse(body: string): number;
}

/**
 * GETs `url` and reads its value. A transport failure reads `<failure>: <message>` (httpGet names
 * the request); a rejected status or unreadable body reads `<failure>: <where>: <why>`. No `cause`
 * is attached: it would carry the server's bytes to whoever serialises the error.
 */
export async function httpGetValue(url: URL, options: HttpGetOptions, reading: ValueReading): Promise<number> {
  let response: HttpResponse;
  try {
    response = await httpGet(url, options);
  } catch (err) {
    throw upstreamError(reading.failure, err);
  }
  const body = response.body.toString('utf8');
  const rejected = reading.rejectStatus(response.status, body);
  if (rejected !== undefined) throw new Error(`${reading.failure}: ${reading.where}: ${rejected}`);
  try {
    return reading.parse(body);
  } catch (err) {
    throw upstreamError(`${reading.failure}: ${reading.where}`, err);
  }
}
