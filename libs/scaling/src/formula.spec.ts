import { checkScalingModifiers, int64MilliQuantity, type ScaledObject } from '@keda-ts/api';
import {
  checkFormula,
  compileFormula,
  compositeIsActive,
  compositeValue,
  formulaTriggerNames,
  scalingModifiersTarget,
  type CompiledFormula,
} from './formula';
import { scaledObject } from '../test/fixtures';

const NAMES = ['metrics_api', 'kw_trig', 'trig_one', 'trig_two', 'primary', 'secondary'];

function compiled(formula: string, names: readonly string[] = NAMES): CompiledFormula {
  const result = compileFormula(formula, names);
  if (!result.ok) throw new Error(result.error);
  return result.formula;
}

describe('compileFormula + evaluate (M-15, M-16, M-19)', () => {
  it.each<[string, string, Record<string, number | null>, number | null]>([
    ['M-19 sum of two triggers', 'metrics_api + kw_trig', { metrics_api: 2, kw_trig: 3 }, 5],
    [
      'M-19 count with a predicate, true branch',
      'count([kw_trig,metrics_api],{#>1}) > 1 ? 5 : 0',
      { metrics_api: 2, kw_trig: 3 },
      5,
    ],
    [
      'M-19 count with a predicate, false branch',
      'count([kw_trig,metrics_api],{#>1}) > 1 ? 5 : 0',
      { metrics_api: 0, kw_trig: 3 },
      0,
    ],
    ['M-19 average', '(trig_one + trig_two)/2', { trig_one: 2, trig_two: 3 }, 2.5],
    ['M-19 ?? chain, first set', 'primary ?? secondary ?? 8', { primary: 1, secondary: 2 }, 1],
    ['M-19/C-81 ?? chain, first nil', 'primary ?? secondary ?? 8', { primary: null, secondary: 2 }, 2],
    ['M-19/C-81 ?? chain, both nil', 'primary ?? secondary ?? 8', { primary: null, secondary: null }, 8],
    ['M-16 ?? may end in nil', 'primary ?? secondary', { primary: null, secondary: null }, null],
    ['M-15 a missing trigger value is nil', 'primary ?? 4', {}, 4],
    ['M-15 nil comparison', 'primary == nil ? 3 : primary', { primary: null }, 3],
    ['M-15 nil comparison, set', 'primary != nil ? primary : 3', { primary: 7 }, 7],
    ['M-16 float()', 'float(trig_one)', { trig_one: 3 }, 3],
    ['M-16 ternary result is a number', 'trig_one > 1 ? 1 : 0', { trig_one: 3 }, 1],
    ['M-15 comparisons and &&', 'trig_one >= 1 && trig_two <= 5 ? 10 : 20', { trig_one: 1, trig_two: 5 }, 10],
    ['M-15 ||', 'trig_one < 0 || trig_two > 4 ? 10 : 20', { trig_one: 1, trig_two: 5 }, 10],
    [
      'M-15 and/or/not words',
      'not (trig_one < 0) and trig_two == 5 ? 10 : 20',
      { trig_one: 1, trig_two: 5 },
      10,
    ],
    ['M-15 !', '!(trig_one > 0) ? 10 : 20', { trig_one: 1 }, 20],
    ['M-15 != is not negation', 'trig_one != 2 ? 10 : 20', { trig_one: 1 }, 10],
    ['M-15 ** and ^ are powers', 'trig_one ** 2 + trig_two ^ 2', { trig_one: 3, trig_two: 2 }, 13],
    ['M-15 %', 'trig_one % 4', { trig_one: 7 }, 3],
    ['M-15 unary minus', '-trig_one + +trig_two', { trig_one: 1, trig_two: 5 }, 4],
    ['M-15 min/max', 'max(trig_one, trig_two) - min(trig_one, trig_two)', { trig_one: 1, trig_two: 5 }, 4],
    ['M-15 min/max of an array', 'max([trig_one, trig_two])', { trig_one: 1, trig_two: 5 }, 5],
    [
      'M-15 abs/ceil/floor/round/int',
      'abs(-trig_one) + ceil(1.2) + floor(1.8) + round(2.5) + int(-2.7)',
      { trig_one: 1 },
      5,
    ],
    ['M-15 sum', 'sum([trig_one, trig_two, 1])', { trig_one: 1, trig_two: 5 }, 7],
    [
      'M-15 all/any/none/one',
      '(all([trig_one, trig_two], {# > 0}) ? 1 : 0) + (any([trig_one], {# > 5}) ? 10 : 0) + (none([trig_one], {# > 5}) ? 100 : 0) + (one([trig_one, trig_two], {# > 2}) ? 1000 : 0)',
      { trig_one: 1, trig_two: 5 },
      1101,
    ],
    [
      'M-15 count of a filter',
      'count(filter([trig_one, trig_two], {# > 2}), {# > 0})',
      { trig_one: 1, trig_two: 5 },
      1,
    ],
    ['M-15 division by zero is Infinity, as in expr-lang', 'trig_one / 0', { trig_one: 1 }, Infinity],
  ])('%s: %s', (_rule, formula, env, expected) => {
    expect(compiled(formula).evaluate(env)).toBe(expected);
  });

  it.each<[string, string, Record<string, number | null>, RegExp]>([
    [
      'M-16 nil result without ?? is an error',
      'primary',
      { primary: null },
      /returned nil; give a default with \?\?/,
    ],
    ['C-81 nil in arithmetic', 'primary + 1', { primary: null }, /nil cannot be used in arithmetic/],
    [
      'C-81 nil in a comparison',
      'primary > 1 ? 1 : 0',
      { primary: null },
      /nil cannot be used in arithmetic or comparisons/,
    ],
    [
      'M-17 a boolean result is not a float',
      'trig_one > 1',
      { trig_one: 3 },
      /must return a number, got a boolean/,
    ],
    [
      'M-17 an array result is not a float',
      '[trig_one]',
      { trig_one: 3 },
      /must return a number, got an array/,
    ],
    ['M-15 float(nil)', 'float(primary)', { primary: null }, /float\(\) needs a number, got nil/],
    [
      'M-15 predicate must be boolean',
      'count([trig_one], {# + 1})',
      { trig_one: 3 },
      /predicate of count\(\) must return a boolean/,
    ],
  ])('%s: %s', (_rule, formula, env, message) => {
    expect(() => compiled(formula).evaluate(env)).toThrow(message);
  });

  it('M-16 marks formulas with ?? as allowed to end in nil', () => {
    expect(compiled('primary ?? 1').allowsNilResult).toBe(true);
    expect(compiled('primary').allowsNilResult).toBe(false);
  });

  it('M-16 is compiled once and evaluated many times without state leaking', () => {
    const formula = compiled('count([trig_one], {# > 1})');
    expect(formula.evaluate({ trig_one: 2 })).toBe(1);
    expect(formula.evaluate({ trig_one: 0 })).toBe(0);
  });
});

describe('compileFormula rejects (restricted instance)', () => {
  it.each<[string, string, RegExp]>([
    [
      'unknown names',
      'x + 1',
      /formula uses "x", which is not the name of a trigger; names it may use: trig_one, trig_two, kw-trig|names it may use: trig_one, trig_two$/,
    ],
    [
      'names with "-" read as minus',
      'kw-trig + 1',
      /trigger names that are not identifiers \(kw-trig\) cannot be used, because "-" reads as minus/,
    ],
    ['constants of mathjs are not names', 'pi', /formula uses "pi"/],
    ['empty', '  ', /formula is empty/],
    ['syntax errors', 'trig_one +', /formula cannot be parsed/],
    ['assignments', 'trig_one = 1', /assignments are not supported/],
    ['function definitions', 'f(x) = 1', /function definitions are not supported/],
    ['property access', 'trig_one.constructor', /property and index access are not supported/],
    ['index access', '[trig_one][1]', /property and index access are not supported/],
    ['strings', '"a"', /string literals are not supported/],
    ['transpose quote', "trig_one'", /string literals are not supported/],
    ['several statements', 'trig_one; 1', /several statements/],
    ['ranges', '1:3', /ranges \(a:b\) are not supported/],
    ['objects (braces are predicates)', '{a: 1}', /predicate \{…\} is only allowed as the second argument/],
    [
      'predicate outside a function',
      'count({# > 1})',
      /predicate \{…\} is only allowed as the second argument/,
    ],
    ['nested predicates', 'count([trig_one], {count([#], {# > 1}) > 0})', /nested predicates/],
    ['# outside a predicate', '# + 1', /'#' \(the current element\) is only allowed inside a predicate/],
    ['unbalanced braces', 'count([trig_one], {# > 1)', /unbalanced '\{'/],
    ['implicit multiplication and units', '5 cm', /implicit multiplication/],
    ['unit conversion', 'trig_one to cm', /operator "to" is not supported/],
    ['chained comparisons', 'trig_one < trig_two < 3', /chained comparisons/],
    ['import()', 'import(trig_one)', /function "import" is not supported in formulas/],
    ['evaluate()', 'evaluate(trig_one)', /function "evaluate" is not supported in formulas/],
    ['createUnit()', 'createUnit(trig_one)', /function "createUnit" is not supported/],
    [
      'other mathjs functions',
      'sqrt(trig_one)',
      /function "sqrt" is not supported in formulas; allowed functions: min, max/,
    ],
    ['factorial', 'trig_one!', /formula cannot be parsed/],
  ])('%s: %s', (_what, formula, message) => {
    const result = compileFormula(formula, ['trig_one', 'trig_two', 'kw-trig']);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(message);
  });
});

describe('formulaTriggerNames (C-104: named, non-cpu/memory triggers)', () => {
  it('lists named triggers other than cpu and memory', () => {
    const so = scaledObject({
      triggers: [
        { type: 'rabbitmq', name: 'queue', metadata: {} },
        { type: 'cpu', name: 'cpu_trig', metadata: {} },
        { type: 'memory', name: 'mem', metadata: {} },
        { type: 'metrics-api', metadata: {} },
        { type: 'kubernetes-workload', name: 'kw_trig', metadata: {} },
      ],
    });
    expect(formulaTriggerNames(so)).toEqual(['queue', 'kw_trig']);
  });
});

describe('checkFormula (C-104)', () => {
  const so = (scalingModifiers: object, triggers?: ScaledObject['spec']['triggers']): ScaledObject =>
    scaledObject({
      advanced: { scalingModifiers },
      triggers: triggers ?? [
        { type: 'rabbitmq', name: 'queue', metadata: {} },
        { type: 'kubernetes-workload', name: 'kw_trig', metadata: {} },
        { type: 'cpu', name: 'cpu_trig', metadata: {} },
      ],
    });
  const FIELD = 'spec.advanced.scalingModifiers.formula';

  it.each<[string, ScaledObject, { field: string; message: RegExp | string }[]]>([
    ['C-104 valid formula', so({ formula: 'queue + kw_trig', target: '2' }), []],
    [
      'C-104 bound to -1: ?? and ternaries run',
      so({ formula: 'queue > 0 ? queue : kw_trig ?? 1', target: '2' }),
      [],
    ],
    ['C-104 no modifiers', scaledObject(), []],
    ['C-104 missing formula is left to checkScalingModifiers', so({ target: '2' }), []],
    ['C-104 missing target is left to checkScalingModifiers', so({ formula: 'queue' }), []],
    [
      'C-104 cpu/memory trigger names cannot be used',
      so({ formula: 'queue + cpu_trig', target: '2' }),
      [{ field: FIELD, message: /^error validating formula in ScalingModifiers: formula uses "cpu_trig"/ }],
    ],
    [
      'C-104 unnamed triggers cannot be used',
      so({ formula: 'queue', target: '2' }, [{ type: 'rabbitmq', metadata: {} }]),
      [{ field: FIELD, message: /names it may use: \(none/ }],
    ],
    [
      'C-104 must compile',
      so({ formula: 'queue +', target: '2' }),
      [{ field: FIELD, message: /^error validating formula in ScalingModifiers: formula cannot be parsed/ }],
    ],
    [
      'C-104 must run: a boolean is not a float',
      so({ formula: 'queue > 1', target: '2' }),
      [
        {
          field: FIELD,
          message: /^error validating formula in ScalingModifiers: formula "queue > 1" must return a number/,
        },
      ],
    ],
  ])('%s', (_rule, object, expected) => {
    const problems = checkFormula(object);
    expect(problems).toHaveLength(expected.length);
    expected.forEach((p, i) => {
      expect(problems[i]?.field).toBe(p.field);
      expect(problems[i]?.message).toMatch(p.message);
    });
  });

  it.each<[string, object, string]>([
    ['C-104 formula mandatory', { target: '2' }, 'error ScalingModifiers.Formula is mandatory'],
    ['C-104 target needed with a formula', { formula: 'queue' }, 'formula is given but target is empty'],
  ])('%s: the exact message comes from @keda-ts/api checkScalingModifiers', (_rule, modifiers, message) => {
    expect(checkScalingModifiers(so(modifiers)).map((p) => p.message)).toContain(message);
  });
});

describe('compositeValue (M-17, C-81, C-82)', () => {
  const formula = compiled('primary ?? secondary');
  it.each<[string, Parameters<typeof compositeValue>[0], ReturnType<typeof compositeValue>]>([
    [
      'M-17 the formula value',
      { formula, triggers: [{ name: 'primary', value: 3 }], target: 2 },
      { ok: true, value: 3, source: 'formula' },
    ],
    [
      'C-81 nil triggers chain through ??',
      {
        formula,
        triggers: [
          { name: 'primary', value: null },
          { name: 'secondary', value: 4 },
        ],
        target: 2,
      },
      { ok: true, value: 4, source: 'formula' },
    ],
    [
      'C-81 nil result: fallback.replicas × target',
      {
        formula,
        triggers: [
          { name: 'primary', value: null },
          { name: 'secondary', value: null },
        ],
        fallback: { replicas: 5 },
        target: 2,
      },
      { ok: true, value: 10, source: 'fallback-replicas' },
    ],
    [
      'C-82 default behaviour: the first fallback metric, formula not run',
      { formula, triggers: [{ name: 'primary', value: null }], firstFallbackValue: 15, target: 2 },
      { ok: true, value: 15, source: 'fallback-metric' },
    ],
    [
      'M-15 unnamed triggers are ignored',
      { formula, triggers: [{ value: 9 }, { name: 'primary', value: 1 }], target: 2 },
      { ok: true, value: 1, source: 'formula' },
    ],
  ])('%s', (_rule, input, expected) => {
    expect(compositeValue(input)).toEqual(expected);
  });

  it('C-81 nil result without a fallback is an error', () => {
    const result = compositeValue({ formula, triggers: [], target: 2 });
    expect(result).toEqual({ ok: false, error: expect.stringContaining('spec.fallback is not set') });
  });

  it('M-17 runtime errors are returned, not thrown', () => {
    const result = compositeValue({
      formula: compiled('primary + 1'),
      triggers: [{ name: 'primary', value: null }],
      target: 2,
    });
    expect(result).toEqual({ ok: false, error: expect.stringContaining('nil cannot be used') });
  });

  it('M-17 a non-finite result is an error', () => {
    const result = compositeValue({
      formula: compiled('primary / 0'),
      triggers: [{ name: 'primary', value: 1 }],
      target: 2,
    });
    expect(result).toEqual({ ok: false, error: expect.stringContaining('must be a finite number') });
  });

  it('M-17 the value is written as int64(result*1000) milli', () => {
    const result = compositeValue({
      formula: compiled('(trig_one + trig_two) / 3'),
      triggers: [
        { name: 'trig_one', value: 1 },
        { name: 'trig_two', value: 1 },
      ],
      target: 2,
    });
    expect(result.ok && int64MilliQuantity(result.value)).toBe('666m');
  });
});

describe('compositeIsActive (C-52, M-18)', () => {
  it.each<[string, number, string | undefined, boolean, boolean]>([
    ['C-52 above the default activation target 0', 0.5, undefined, false, true],
    ['C-52 at 0 is not active', 0, '', false, false],
    ['C-52 strictly greater than activationTarget', 3, '3', false, false],
    ['C-52 above activationTarget', 3.5, '3', false, true],
    ['C-52 any trigger error → inactive', 100, '1', true, false],
    ['C-52 unparsable activationTarget counts as 0', 1, 'abc', false, true],
  ])('%s', (_rule, value, activationTarget, anyError, expected) => {
    expect(compositeIsActive(value, activationTarget, anyError)).toBe(expected);
  });
});

describe('scalingModifiersTarget', () => {
  it.each([
    ['10', 10],
    ['2.5', 2.5],
    ['', 0],
    ['x', 0],
  ])('%p → %p', (target, expected) => {
    expect(
      scalingModifiersTarget(scaledObject({ advanced: { scalingModifiers: { formula: 'queue', target } } })),
    ).toBe(expected);
  });
});
