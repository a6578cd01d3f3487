/**
 * Scaling-modifier formulas (§3.6, M-15..M-19, C-52, C-81, C-82, C-104).
 *
 * KEDA compiles `scalingModifiers.formula` with expr-lang/expr. Here the formula is parsed and
 * compiled once by a restricted mathjs instance (never eval/Function): the common expr-lang syntax is
 * translated first (`&&`, `||`, `!`, `**`, `nil`, predicates `{# > 1}`), then the parsed tree is
 * checked against an allow-list of node types, operators and functions, so that nothing but
 * arithmetic over the trigger values can run: no assignments, property access, units, matrices
 * beyond plain arrays, strings, imports or nested evaluation.
 */
import {
  TriggerType,
  fieldPath,
  isUsingModifiers,
  parseGoFloat,
  type Problem,
  type ScaledObjectLike,
} from '@keda-ts/api';
import {
  absDependencies,
  andDependencies,
  ceilDependencies,
  create,
  divideDependencies,
  equalDependencies,
  floorDependencies,
  largerDependencies,
  largerEqDependencies,
  maxDependencies,
  minDependencies,
  modDependencies,
  multiplyDependencies,
  notDependencies,
  nullishDependencies,
  orDependencies,
  parseDependencies,
  powDependencies,
  roundDependencies,
  smallerDependencies,
  smallerEqDependencies,
  subtractDependencies,
  addDependencies,
  unaryMinusDependencies,
  unaryPlusDependencies,
  unequalDependencies,
  xorDependencies,
  type MathNode,
} from 'mathjs';

// ---------------------------------------------------------------------------------------------
// The restricted mathjs instance
// ---------------------------------------------------------------------------------------------

/** Only the factories that the allowed operators and functions need (no units, no matrix functions). */
const math = create(
  {
    parseDependencies,
    addDependencies,
    subtractDependencies,
    multiplyDependencies,
    divideDependencies,
    modDependencies,
    powDependencies,
    unaryMinusDependencies,
    unaryPlusDependencies,
    equalDependencies,
    unequalDependencies,
    smallerDependencies,
    smallerEqDependencies,
    largerDependencies,
    largerEqDependencies,
    andDependencies,
    orDependencies,
    notDependencies,
    xorDependencies,
    nullishDependencies,
    minDependencies,
    maxDependencies,
    absDependencies,
    ceilDependencies,
    floorDependencies,
    roundDependencies,
  },
  // Plain numbers and arrays: no BigNumber/Fraction results and no Matrix objects.
  { number: 'number', matrix: 'Array' },
);

const parse = math.parse;
const typed = math.typed;

/** Name the translated predicate `{…}` gets; it cannot collide with a trigger name used in a formula. */
const PREDICATE_FUNCTION = '__kedaPredicate';
/** Variable that stands for `#` (the current element) inside a predicate. */
const PREDICATE_ITEM = '__kedaItem';

const isNil = (value: unknown): value is null | undefined => value === null || value === undefined;

const describe = (value: unknown): string =>
  isNil(value) ? 'nil' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;

function asArray(value: unknown, fn: string): unknown[] {
  if (!Array.isArray(value))
    throw new Error(`${fn}() needs an array as its first argument, got ${describe(value)}`);
  return value;
}

function predicateOf(predicate: unknown, fn: string): (item: unknown) => boolean {
  if (typeof predicate !== 'function') {
    throw new Error(`${fn}() needs a predicate such as {# > 1} as its second argument`);
  }
  return (item) => {
    const result: unknown = (predicate as (x: unknown) => unknown)(item);
    if (typeof result !== 'boolean') {
      throw new Error(`the predicate of ${fn}() must return a boolean, got ${describe(result)}`);
    }
    return result;
  };
}

const expectNumber = (value: unknown, fn: string): number => {
  if (typeof value === 'number') return value;
  throw new Error(`${fn}() needs a number, got ${describe(value)}`);
};

// expr-lang builtins that have no mathjs twin (or a different meaning, like mathjs' count = size).
math.import(
  {
    float: typed('float', { any: (x: unknown) => expectNumber(x, 'float') }),
    int: typed('int', { any: (x: unknown) => Math.trunc(expectNumber(x, 'int')) }),
    count: typed('count', {
      any: (list: unknown) => asArray(list, 'count').filter((item) => item === true).length,
      'any, any': (list: unknown, p: unknown) =>
        asArray(list, 'count').filter(predicateOf(p, 'count')).length,
    }),
    all: typed('all', {
      'any, any': (list: unknown, p: unknown) => asArray(list, 'all').every(predicateOf(p, 'all')),
    }),
    any: typed('any', {
      'any, any': (list: unknown, p: unknown) => asArray(list, 'any').some(predicateOf(p, 'any')),
    }),
    none: typed('none', {
      'any, any': (list: unknown, p: unknown) => !asArray(list, 'none').some(predicateOf(p, 'none')),
    }),
    one: typed('one', {
      'any, any': (list: unknown, p: unknown) =>
        asArray(list, 'one').filter(predicateOf(p, 'one')).length === 1,
    }),
    filter: typed('filter', {
      'any, any': (list: unknown, p: unknown) => asArray(list, 'filter').filter(predicateOf(p, 'filter')),
    }),
    sum: typed('sum', {
      any: (list: unknown) =>
        asArray(list, 'sum').reduce<number>((acc, x) => acc + expectNumber(x, 'sum'), 0),
    }),
  },
  { override: true },
);

// mathjs' security guidance: disable the functions that evaluate or define things at run time. The
// allow-list below already keeps formulas from calling them; this is the second line of defence.
const disabled = (name: string) => () => {
  throw new Error(`function ${name} is disabled in formulas`);
};
math.import(
  Object.fromEntries(
    [
      'import',
      'createUnit',
      'evaluate',
      'parse',
      'compile',
      'simplify',
      'derivative',
      'resolve',
      'reviver',
    ].map((name) => [name, disabled(name)]),
  ),
  { override: true },
);

/** Functions a formula may call. */
export const FORMULA_FUNCTIONS: readonly string[] = [
  'min',
  'max',
  'abs',
  'ceil',
  'floor',
  'round',
  'float',
  'int',
  'sum',
  'count',
  'all',
  'any',
  'none',
  'one',
  'filter',
];
const FUNCTIONS = new Set(FORMULA_FUNCTIONS);
const PREDICATE_FUNCTIONS = new Set(['count', 'all', 'any', 'none', 'one', 'filter']);

/** mathjs operator functions a formula may use (arithmetic, comparison, logic, `??`). */
const OPERATORS = new Set([
  'add',
  'subtract',
  'multiply',
  'divide',
  'mod',
  'pow',
  'unaryMinus',
  'unaryPlus',
  'equal',
  'unequal',
  'smaller',
  'smallerEq',
  'larger',
  'largerEq',
  'and',
  'or',
  'not',
  'xor',
  'nullish',
]);

// ---------------------------------------------------------------------------------------------
// expr-lang → mathjs syntax
// ---------------------------------------------------------------------------------------------

type Translation = { ok: true; text: string } | { ok: false; error: string };

/**
 * Rewrites the expr-lang spellings that mathjs reads differently: `&&`/`||`/`!` become
 * `and`/`or`/`not` (mathjs' `!` is the factorial), `**` becomes `^`, and a predicate `{ … # … }`
 * becomes a one-argument function. Strings are rejected (mathjs' `'` is a transpose).
 */
function translateExprSyntax(formula: string): Translation {
  let out = '';
  let inPredicate = false;
  for (let i = 0; i < formula.length; i++) {
    const c = formula[i] as string;
    const next = formula[i + 1];
    if (c === '"' || c === "'" || c === '`') {
      return { ok: false, error: 'string literals are not supported in formulas' };
    }
    if ((c === '&' && next === '&') || (c === '|' && next === '|')) {
      out += c === '&' ? ' and ' : ' or ';
      i++;
    } else if (c === '*' && next === '*') {
      out += '^';
      i++;
    } else if (c === '!' && next !== '=') {
      out += ' not ';
    } else if (c === '{') {
      if (inPredicate) return { ok: false, error: 'nested predicates {…} are not supported in formulas' };
      inPredicate = true;
      out += `${PREDICATE_FUNCTION}(${PREDICATE_ITEM}) = (`;
    } else if (c === '}') {
      if (!inPredicate) return { ok: false, error: "unbalanced '}' in formula" };
      inPredicate = false;
      out += ')';
    } else if (c === '#') {
      if (!inPredicate) {
        return {
          ok: false,
          error: "'#' (the current element) is only allowed inside a predicate such as {# > 1}",
        };
      }
      out += PREDICATE_ITEM;
    } else {
      out += c;
    }
  }
  if (inPredicate) return { ok: false, error: "unbalanced '{' in formula" };
  return { ok: true, text: out };
}

// ---------------------------------------------------------------------------------------------
// Tree validation
// ---------------------------------------------------------------------------------------------

interface ValidationContext {
  triggers: ReadonlySet<string>;
  unknownNames: Set<string>;
  problems: string[];
}

const PREDICATE_POSITION_PROBLEM = `a predicate {…} is only allowed as the second argument of ${[...PREDICATE_FUNCTIONS].join(', ')}`;

const NODE_DESCRIPTIONS: Readonly<Record<string, string>> = {
  AssignmentNode: 'assignments',
  AccessorNode: 'property and index access',
  IndexNode: 'property and index access',
  ObjectNode: 'object literals',
  RangeNode: 'ranges (a:b)',
  BlockNode: 'several statements (; or newlines)',
  RelationalNode: 'chained comparisons such as a < b < c (write a < b and b < c)',
};

/** Walks the parsed tree and records everything outside the allow-list; returns the checked tree. */
function validateNode(node: MathNode, ctx: ValidationContext, inPredicate: boolean): MathNode {
  const anyNode = node as MathNode & Record<string, unknown>;
  switch (node.type) {
    case 'ConstantNode': {
      const value = anyNode['value'];
      if (typeof value === 'string') ctx.problems.push('string literals are not supported in formulas');
      return node;
    }
    case 'SymbolNode': {
      const name = anyNode['name'] as string;
      if (inPredicate && name === PREDICATE_ITEM) return node;
      if (ctx.triggers.has(name)) return node;
      // expr-lang's nil; a trigger that is falling back is bound to it (C-81).
      if (name === 'nil') return new math.ConstantNode(null);
      ctx.unknownNames.add(name);
      return node;
    }
    case 'ParenthesisNode':
      anyNode['content'] = validateNode(anyNode['content'] as MathNode, ctx, inPredicate);
      return node;
    case 'ConditionalNode':
      for (const key of ['condition', 'trueExpr', 'falseExpr']) {
        anyNode[key] = validateNode(anyNode[key] as MathNode, ctx, inPredicate);
      }
      return node;
    case 'OperatorNode': {
      const fn = anyNode['fn'] as string;
      if (anyNode['implicit']) {
        ctx.problems.push(
          'implicit multiplication (such as 2 x) is not allowed; write the multiplication out, for example 2 * x',
        );
      } else if (!OPERATORS.has(fn)) {
        ctx.problems.push(`operator ${JSON.stringify(anyNode['op'])} is not supported in formulas`);
      }
      anyNode['args'] = (anyNode['args'] as MathNode[]).map((arg) => validateNode(arg, ctx, inPredicate));
      return node;
    }
    case 'ArrayNode':
      anyNode['items'] = (anyNode['items'] as MathNode[]).map((item) => validateNode(item, ctx, inPredicate));
      return node;
    case 'FunctionNode': {
      const fnNode = anyNode['fn'] as MathNode & { name?: string };
      const name = fnNode.type === 'SymbolNode' ? (fnNode.name ?? '') : '';
      if (!FUNCTIONS.has(name)) {
        ctx.problems.push(
          `function ${JSON.stringify(name || '(expression)')} is not supported in formulas; allowed functions: ${FORMULA_FUNCTIONS.join(', ')}`,
        );
        return node;
      }
      const args = anyNode['args'] as MathNode[];
      anyNode['args'] = args.map((arg, i) => {
        if (arg.type === 'FunctionAssignmentNode') {
          const fa = arg as MathNode & { name: string; params: string[]; expr: MathNode };
          const isPredicate =
            PREDICATE_FUNCTIONS.has(name) &&
            i === 1 &&
            fa.name === PREDICATE_FUNCTION &&
            fa.params.length === 1 &&
            fa.params[0] === PREDICATE_ITEM;
          if (!isPredicate) {
            ctx.problems.push(PREDICATE_POSITION_PROBLEM);
            return arg;
          }
          fa.expr = validateNode(fa.expr, ctx, true);
          return arg;
        }
        return validateNode(arg, ctx, inPredicate);
      });
      return node;
    }
    case 'FunctionAssignmentNode':
      if ((anyNode['name'] as string) === PREDICATE_FUNCTION) {
        ctx.problems.push(PREDICATE_POSITION_PROBLEM);
        return node;
      }
      ctx.problems.push('function definitions are not supported in formulas');
      return node;
    default:
      ctx.problems.push(`${NODE_DESCRIPTIONS[node.type] ?? node.type} are not supported in formulas`);
      return node;
  }
}

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/** Value of a trigger in a formula: its metric value, or null (nil) while it falls back (C-81). */
export type FormulaEnv = Readonly<Record<string, number | null | undefined>>;

export interface CompiledFormula {
  /** The formula as written in the ScaledObject. */
  readonly formula: string;
  /** True when the formula uses `??`: then a nil result is allowed (M-16) and means "use fallback". */
  readonly allowsNilResult: boolean;
  /**
   * Runs the formula with the trigger values in `env` (a missing trigger counts as nil). Returns the
   * result as a number, or null when the formula uses `??` and still ends in nil. Throws an Error
   * with a readable message on a runtime error (for example nil in arithmetic) or a non-number result.
   */
  evaluate(env: FormulaEnv): number | null;
}

export type CompileFormulaResult = { ok: true; formula: CompiledFormula } | { ok: false; error: string };

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * mathjs' message for a runtime error. When some trigger is nil, the error almost always comes from
 * using nil where a number is needed, and mathjs' type-dispatch message would not say so.
 */
function runtimeMessage(error: unknown, someTriggerIsNil: boolean): string {
  const message = error instanceof Error ? error.message : String(error);
  if (!someTriggerIsNil) return message;
  return `a trigger value is nil (its scaler is falling back with behavior scalingModifiers) and nil cannot be used in arithmetic or comparisons; give a default with ??, for example (a ?? 0) + b (${message})`;
}

/**
 * Parses, checks and compiles `formula` once. `triggerNames` are the names a formula may use: the
 * names of the ScaledObject's named triggers other than cpu and memory (see `formulaTriggerNames`).
 */
export function compileFormula(formula: string, triggerNames: readonly string[]): CompileFormulaResult {
  if (formula.trim() === '') return { ok: false, error: 'formula is empty' };
  const translated = translateExprSyntax(formula);
  if (!translated.ok) return translated;
  let tree: MathNode;
  try {
    tree = parse(translated.text);
  } catch (error) {
    return {
      ok: false,
      error: `formula cannot be parsed: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  const triggers = new Set(triggerNames.filter((name) => IDENTIFIER.test(name)));
  const ctx: ValidationContext = { triggers, unknownNames: new Set(), problems: [] };
  tree = validateNode(tree, ctx, false);
  if (ctx.unknownNames.size > 0) {
    const unusable = triggerNames.filter((name) => !IDENTIFIER.test(name) && formula.includes(name));
    const hint =
      unusable.length > 0
        ? `; trigger names that are not identifiers (${unusable.join(', ')}) cannot be used, because "-" reads as minus: rename them to letters, digits and _`
        : '';
    ctx.problems.push(
      `formula uses ${[...ctx.unknownNames].map((n) => JSON.stringify(n)).join(', ')}, which ${ctx.unknownNames.size === 1 ? 'is not the name' : 'are not names'} of a trigger; names it may use: ${triggers.size > 0 ? [...triggers].join(', ') : '(none: name the triggers, cpu and memory triggers excluded)'}${hint}`,
    );
  }
  if (ctx.problems.length > 0) return { ok: false, error: [...new Set(ctx.problems)].join('; ') };

  const program = tree.compile();
  const allowsNilResult = formula.includes('??');
  const names = [...triggers];
  const compiled: CompiledFormula = {
    formula,
    allowsNilResult,
    evaluate(env: FormulaEnv): number | null {
      // A fresh scope holding only the triggers: nothing leaks between evaluations.
      const scope = new Map<string, unknown>(names.map((name) => [name, env[name] ?? null]));
      let result: unknown;
      try {
        result = program.evaluate(scope);
      } catch (error) {
        const someTriggerIsNil = [...scope.values()].some(isNil);
        throw new Error(
          `formula ${JSON.stringify(formula)} failed: ${runtimeMessage(error, someTriggerIsNil)}`,
          {
            cause: error,
          },
        );
      }
      if (typeof result === 'number') return result;
      if (isNil(result)) {
        if (allowsNilResult) return null;
        throw new Error(
          `formula ${JSON.stringify(formula)} returned nil; give a default with ??, for example a ?? 0`,
        );
      }
      throw new Error(
        `formula ${JSON.stringify(formula)} must return a number, got ${describe(result)}` +
          (typeof result === 'boolean' ? ' (use a ternary such as a > 1 ? 5 : 0)' : ''),
      );
    },
  };
  return { ok: true, formula: compiled };
}

const isCpuOrMemory = (type: string | undefined) => type === TriggerType.Cpu || type === TriggerType.Memory;

/** Names a formula may use: every non-empty trigger name, except those of cpu and memory triggers. */
export function formulaTriggerNames(so: ScaledObjectLike): string[] {
  return (so.spec?.triggers ?? []).flatMap((t) => (t.name && !isCpuOrMemory(t.type) ? [t.name] : []));
}

/** The value every trigger gets when the webhook test-runs a formula (C-104). */
const DUMMY_TRIGGER_VALUE = -1;

const FORMULA_FIELD = fieldPath('spec', 'advanced', 'scalingModifiers', 'formula');

/**
 * The webhook's formula check (C-104): the formula must compile and run with every named
 * non-cpu/memory trigger bound to -1. Only the formula itself is checked here; `checkScalingModifiers`
 * of @keda-ts/api has the other scalingModifiers rules (formula mandatory, target present and > 0, no
 * Utilization). Returns no problems when there is no formula or no target.
 */
export function checkFormula(so: ScaledObjectLike): Problem[] {
  if (!isUsingModifiers(so)) return [];
  const modifiers = so.spec?.advanced?.scalingModifiers;
  if (!modifiers?.formula || !modifiers.target) return [];
  const compiled = compileFormula(modifiers.formula, formulaTriggerNames(so));
  if (!compiled.ok) {
    return [
      { field: FORMULA_FIELD, message: `error validating formula in ScalingModifiers: ${compiled.error}` },
    ];
  }
  const env = Object.fromEntries(formulaTriggerNames(so).map((name) => [name, DUMMY_TRIGGER_VALUE]));
  try {
    compiled.formula.evaluate(env);
  } catch (error) {
    return [
      {
        field: FORMULA_FIELD,
        message: `error validating formula in ScalingModifiers: ${error instanceof Error ? error.message : String(error)}`,
      },
    ];
  }
  return [];
}

/** One trigger's contribution to the composite metric. */
export interface CompositeTriggerValue {
  /** The trigger name (triggers without a name cannot appear in a formula). */
  name?: string;
  /** The metric value; null while the trigger is over its failure threshold with behavior scalingModifiers (C-81). */
  value: number | null;
}

export interface CompositeValueInput {
  formula: CompiledFormula;
  triggers: readonly CompositeTriggerValue[];
  /**
   * The metric value of the first trigger that is falling back with a behavior other than
   * scalingModifiers: it becomes the composite value and the formula is not evaluated (C-82).
   */
  firstFallbackValue?: number;
  /** `spec.fallback`, used when the formula returns nil (C-81). */
  fallback?: { replicas: number };
  /** `scalingModifiers.target` as a number. */
  target: number;
}

export type CompositeValueResult =
  | { ok: true; value: number; source: 'formula' | 'fallback-metric' | 'fallback-replicas' }
  | { ok: false; error: string };

/**
 * The composite metric value (M-15..M-17, C-81, C-82): the first fallback metric when a trigger falls
 * back with a default behavior; otherwise the formula over the trigger values, and when it returns
 * nil, `fallback.replicas × target`. Write the value with `int64MilliQuantity` (M-17).
 */
export function compositeValue(input: CompositeValueInput): CompositeValueResult {
  if (input.firstFallbackValue !== undefined) {
    return { ok: true, value: input.firstFallbackValue, source: 'fallback-metric' };
  }
  const env: Record<string, number | null> = {};
  for (const trigger of input.triggers) if (trigger.name) env[trigger.name] = trigger.value;
  let result: number | null;
  try {
    result = input.formula.evaluate(env);
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  if (result === null) {
    if (!input.fallback) {
      return {
        ok: false,
        error: `formula ${JSON.stringify(input.formula.formula)} returned nil and spec.fallback is not set, so there is no fallback.replicas to use instead`,
      };
    }
    return { ok: true, value: input.fallback.replicas * input.target, source: 'fallback-replicas' };
  }
  if (!Number.isFinite(result)) {
    return {
      ok: false,
      error: `formula ${JSON.stringify(input.formula.formula)} returned ${result}; the composite metric must be a finite number`,
    };
  }
  return { ok: true, value: result, source: 'formula' };
}

/**
 * Activity of a ScaledObject with scaling modifiers (C-52, M-18): inactive when any trigger erred,
 * otherwise active iff the composite value is greater than `activationTarget` (empty means 0).
 */
export function compositeIsActive(
  value: number,
  activationTarget: string | undefined,
  anyTriggerError: boolean,
): boolean {
  if (anyTriggerError) return false;
  const threshold = activationTarget ? (parseGoFloat(activationTarget) ?? 0) : 0;
  return value > threshold;
}

/** `scalingModifiers.target` as a number (0 when missing or not a float). */
export const scalingModifiersTarget = (so: ScaledObjectLike): number =>
  parseGoFloat(so.spec?.advanced?.scalingModifiers?.target ?? '') ?? 0;
