import { GLOB_MAX_KEY_LENGTH, GLOB_MAX_PATTERN_LENGTH, compileGlob, globMatch, type CompiledGlob, type GlobSyntax } from './glob';

const full = { classes: true, braces: true, escapes: true };
const compiled = (pattern: string, syntax: GlobSyntax = full): CompiledGlob => {
  const g = compileGlob(pattern, syntax);
  if ('error' in g) throw new Error(g.error);
  return g;
};

describe('glob matcher', () => {
  it.each<[string, string, boolean]>([
    ['*', '', true],
    ['*', 'anything/at all', true],
    ['a*', 'a', true],
    ['*a', 'ba', true],
    ['*a', 'ab', false],
    ['a?c', 'abc', true],
    ['a?c', 'ac', false],
    ['a**b', 'axyzb', true],
    ['*x*y*', 'axbyc', true],
    ['*x*y*', 'aybxc', false],
    ['[a-c]x', 'bx', true],
    ['[a-c]x', 'dx', false],
    ['[!a-c]x', 'dx', true],
    ['[]a]', ']', true],
    ['[a-]', '-', true],
    ['{a,b{c,d}}z', 'bdz', true],
    ['{a,b{c,d}}z', 'bz', false],
    ['{,x}y', 'y', true],
    ['x{a,b}*', 'xbcd', true],
    ['a,b}', 'a,b}', true],
    ['\\?', '?', true],
    ['\\?', 'x', false],
  ])('%s ~ %s = %s', (pattern, key, expected) => {
    expect(globMatch(compiled(pattern), key)).toBe(expected);
  });

  it('treats classes, braces and escapes as literals unless asked', () => {
    const plain = compiled('[a]{b,c}\\', {});
    expect(globMatch(plain, '[a]{b,c}\\')).toBe(true);
    expect(globMatch(plain, 'ab')).toBe(false);
  });

  it('reports syntax errors', () => {
    expect(compileGlob('[abc', full)).toEqual({ error: 'unclosed character class' });
    expect(compileGlob('{a,b', full)).toEqual({ error: 'unclosed {' });
    expect(compileGlob('a\\', full)).toEqual({ error: 'unexpected end of pattern after \\' });
    expect(compileGlob('[z-a]', full)).toEqual({ error: 'range out of order in character class' });
    expect(compileGlob('{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}', full)).toEqual({ error: '{...} groups expand to more than 32 alternatives' });
  });

  it('refuses patterns over the cap and never matches keys over the cap', () => {
    expect(compileGlob('a'.repeat(GLOB_MAX_PATTERN_LENGTH + 1))).toEqual({
      error: `is ${GLOB_MAX_PATTERN_LENGTH + 1} characters long, at most ${GLOB_MAX_PATTERN_LENGTH} are allowed`,
    });
    expect(globMatch(compiled('*'), 'k'.repeat(GLOB_MAX_KEY_LENGTH))).toBe(true);
    expect(globMatch(compiled('*'), 'k'.repeat(GLOB_MAX_KEY_LENGTH + 1))).toBe(false);
  });

  it('matches a backtracking bomb in linear time', () => {
    const bomb = compiled('*a*a*a*a*a*a*a*a*b');
    const key = 'a'.repeat(64);
    const start = process.hrtime.bigint();
    const result = globMatch(bomb, key);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    expect(result).toBe(false);
    expect(ms).toBeLessThan(5);
    // The worst case at both caps stays far below a poll's budget.
    const worst = compiled(`${'*a'.repeat(GLOB_MAX_PATTERN_LENGTH / 2 - 1)}*b`);
    const t0 = process.hrtime.bigint();
    expect(globMatch(worst, 'a'.repeat(GLOB_MAX_KEY_LENGTH))).toBe(false);
    expect(Number(process.hrtime.bigint() - t0) / 1e6).toBeLessThan(100);
  });
});
