/**
 * Glob matching without backtracking RegExps. Patterns come from tenant manifests (metrics-api
 * `valueLocation` wildcards, azure-blob `globPattern`) and are matched against keys the tenant's
 * own server chooses, so a RegExp built from them (`.*a.*a.*b`) can be made to run for minutes.
 *
 * A pattern compiles to token sequences (one per `{a,b}` alternative); each is matched with the
 * classic two-pointer algorithm that only remembers the last `*`: at most O(key × pattern) steps,
 * with both lengths capped. Keys longer than their cap never match.
 */

/** Longest pattern accepted (characters). */
export const GLOB_MAX_PATTERN_LENGTH = 256;
/** Keys longer than this never match (Azure blob names are at most 1024 characters). */
export const GLOB_MAX_KEY_LENGTH = 1024;
/** Most alternatives `{a,b}` groups may expand to. */
export const GLOB_MAX_ALTERNATIVES = 32;

type Token =
  | { readonly t: 'lit'; readonly c: string }
  | { readonly t: 'any' }
  | { readonly t: 'star' }
  | { readonly t: 'class'; readonly negate: boolean; readonly singles: string; readonly ranges: readonly (readonly [string, string])[] };

export interface GlobSyntax {
  /** `[abc]`, `[a-z]`, `[!abc]` classes. */
  classes?: boolean;
  /** `{a,b}` alternatives (nesting allowed). */
  braces?: boolean;
  /** `\x` is a literal x. */
  escapes?: boolean;
}

export interface CompiledGlob {
  readonly pattern: string;
  readonly alternatives: readonly (readonly Token[])[];
}

class GlobSyntaxError extends Error {}

/** Compiles a pattern; `*` matches any run of characters (`/` included), `?` one character. */
export function compileGlob(pattern: string, syntax: GlobSyntax = {}): CompiledGlob | { error: string } {
  if (pattern.length > GLOB_MAX_PATTERN_LENGTH)
    return { error: `is ${pattern.length} characters long, at most ${GLOB_MAX_PATTERN_LENGTH} are allowed` };
  let i = 0;
  // `**` is one `*`.
  const append = (alt: Token[], token: Token) => {
    if (!(token.t === 'star' && alt[alt.length - 1]?.t === 'star')) alt.push(token);
  };
  const push = (alts: Token[][], token: Token) => {
    for (const alt of alts) append(alt, token);
  };
  // Parses until the end, or (inside braces) until an unescaped `,` or `}`, which it leaves unread.
  const sequence = (depth: number): Token[][] => {
    let alts: Token[][] = [[]];
    while (i < pattern.length) {
      const ch = pattern[i];
      if (depth > 0 && (ch === ',' || ch === '}')) return alts;
      i++;
      if (ch === '\\' && syntax.escapes) {
        if (i >= pattern.length) throw new GlobSyntaxError('unexpected end of pattern after \\');
        push(alts, { t: 'lit', c: pattern[i++] });
      } else if (ch === '*') push(alts, { t: 'star' });
      else if (ch === '?') push(alts, { t: 'any' });
      else if (ch === '[' && syntax.classes) push(alts, characterClass());
      else if (ch === '{' && syntax.braces) {
        const options: Token[][] = [];
        for (;;) {
          options.push(...sequence(depth + 1));
          if (i >= pattern.length) throw new GlobSyntaxError('unclosed {');
          if (pattern[i++] === '}') break;
        }
        if (alts.length * options.length > GLOB_MAX_ALTERNATIVES)
          throw new GlobSyntaxError(`{...} groups expand to more than ${GLOB_MAX_ALTERNATIVES} alternatives`);
        const next: Token[][] = [];
        for (const alt of alts) {
          for (const option of options) {
            const joined = [...alt];
            for (const token of option) append(joined, token);
            next.push(joined);
          }
        }
        alts = next;
      } else push(alts, { t: 'lit', c: ch });
    }
    return alts;
  };
  // `[` was just read. Like the RegExp class azure-blob built before: a `]` right after `[` (or
  // `[!`) belongs to the class; `a-z` is a range; a leading `!` negates.
  const characterClass = (): Token => {
    const end = pattern.indexOf(']', i + 1);
    if (end < 0) throw new GlobSyntaxError('unclosed character class');
    let body = pattern.slice(i, end);
    i = end + 1;
    const negate = body.startsWith('!');
    if (negate) body = body.slice(1);
    let singles = '';
    const ranges: [string, string][] = [];
    for (let k = 0; k < body.length; k++) {
      if (body[k + 1] === '-' && k + 2 < body.length) {
        if (body[k] > body[k + 2]) throw new GlobSyntaxError('range out of order in character class');
        ranges.push([body[k], body[k + 2]]);
        k += 2;
      } else singles += body[k];
    }
    return { t: 'class', negate, singles, ranges };
  };
  try {
    return { pattern, alternatives: sequence(0) };
  } catch (err) {
    if (err instanceof GlobSyntaxError) return { error: err.message };
    throw err;
  }
}

function matchesOne(token: Token, c: string): boolean {
  switch (token.t) {
    case 'lit':
      return token.c === c;
    case 'any':
      return true;
    case 'class': {
      const inside = token.singles.includes(c) || token.ranges.some(([lo, hi]) => c >= lo && c <= hi);
      return inside !== token.negate;
    }
    default:
      return false;
  }
}

function matchSequence(tokens: readonly Token[], key: string): boolean {
  let p = 0;
  let k = 0;
  let star = -1;
  let starKey = 0;
  while (k < key.length) {
    const token = tokens[p];
    if (token !== undefined && token.t === 'star') {
      star = p++;
      starKey = k;
    } else if (token !== undefined && matchesOne(token, key[k])) {
      p++;
      k++;
    } else if (star >= 0) {
      // Let the last `*` absorb one more character; earlier stars never need revisiting.
      p = star + 1;
      k = ++starKey;
    } else return false;
  }
  while (tokens[p]?.t === 'star') p++;
  return p === tokens.length;
}

/** Whether the whole key matches. Keys longer than GLOB_MAX_KEY_LENGTH never match. */
export function globMatch(glob: CompiledGlob, key: string): boolean {
  if (key.length > GLOB_MAX_KEY_LENGTH) return false;
  return glob.alternatives.some((tokens) => matchSequence(tokens, key));
}

/** Whether a string uses glob wildcards (`*` or `?`). */
export const hasGlobWildcard = (s: string) => s.includes('*') || s.includes('?');
