/** The number SQL scalers read: the first column of the first row (KEDA's QueryRow().Scan(&float64)). */
import { LocalError } from '../../upstream-errors';

export interface SqlResult {
  rows: unknown[][];
  columns: number;
}

export function sqlResultValue(result: SqlResult): number {
  if (result.columns !== 1) throw new LocalError(`the query must return one column, it returned ${result.columns}`);
  if (result.rows.length === 0) throw new LocalError('the query returned no rows');
  const v = result.rows[0][0];
  if (v === null || v === undefined) throw new LocalError('the query returned NULL');
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') {
    const n = v.trim() === '' ? NaN : Number(v);
    if (Number.isNaN(n) && v !== 'NaN') throw new LocalError(`the query returned a string of ${v.length} characters that is not a number`);
    return n;
  }
  throw new LocalError(`the query returned ${typeof v === 'object' ? 'an object' : typeof v}, not a number`);
}
