import {
  isAnnotationTruthy,
  isScaledJobPaused,
  parseExcludedLabels,
  parseGoBool,
  parseGoInt32,
  parsePauseAnnotations,
} from './pause';

describe('boolean annotations', () => {
  it.each<[string | undefined, boolean]>([
    [undefined, false],
    ['true', true],
    ['True', true],
    ['TRUE', true],
    ['1', true],
    ['t', true],
    ['false', false],
    ['False', false],
    ['0', false],
    ['f', false],
    ['F', false],
    ['yes', true], // unparsable counts as true
    ['', true],
    [' false', true],
  ])('%j -> %s', (value, expected) => {
    expect(isAnnotationTruthy(value)).toBe(expected);
  });

  it('parseGoBool rejects other spellings', () => {
    expect(parseGoBool('tRUE')).toBeUndefined();
    expect(parseGoBool('no')).toBeUndefined();
  });
});

describe('parseGoInt32', () => {
  it.each<[string, number | undefined]>([
    ['0', 0],
    ['5', 5],
    ['+7', 7],
    ['-1', -1],
    ['2147483647', 2147483647],
    ['-2147483648', -2147483648],
    ['2147483648', undefined],
    ['1.0', undefined],
    ['', undefined],
    ['0x10', undefined],
    [' 1', undefined],
  ])('%j -> %s', (value, expected) => {
    expect(parseGoInt32(value)).toBe(expected);
  });
});

describe('parsePauseAnnotations', () => {
  it('no annotations', () => {
    expect(parsePauseAnnotations(undefined)).toEqual({
      paused: false,
      pausedReplicasSet: false,
      fullyPaused: false,
      pausedScaleIn: false,
      pausedScaleOut: false,
      forceActivation: false,
      anyPause: false,
      problems: [],
    });
  });

  it('paused-replicas with any value pauses; the value must be an int32', () => {
    const ok = parsePauseAnnotations({ 'autoscaling.keda.sh/paused-replicas': '3' });
    expect(ok).toMatchObject({
      fullyPaused: true,
      pausedReplicasSet: true,
      pausedReplicaCount: 3,
      problems: [],
    });

    const bad = parsePauseAnnotations({ 'autoscaling.keda.sh/paused-replicas': 'three' });
    expect(bad.fullyPaused).toBe(true);
    expect(bad.pausedReplicaCount).toBeUndefined();
    expect(bad.problems).toEqual([
      {
        field: 'metadata.annotations["autoscaling.keda.sh/paused-replicas"]',
        message:
          'annotation autoscaling.keda.sh/paused-replicas must be an int32 (a whole number from -2147483648 to 2147483647), got "three"',
      },
    ]);
  });

  it.each<[Record<string, string>, Partial<ReturnType<typeof parsePauseAnnotations>>]>([
    [{ 'autoscaling.keda.sh/paused': 'true' }, { paused: true, fullyPaused: true, anyPause: true }],
    [{ 'autoscaling.keda.sh/paused': 'false' }, { paused: false, fullyPaused: false, anyPause: false }],
    [{ 'autoscaling.keda.sh/paused': 'maybe' }, { paused: true, fullyPaused: true }],
    [
      { 'autoscaling.keda.sh/paused-scale-in': 'true' },
      { pausedScaleIn: true, fullyPaused: false, anyPause: true },
    ],
    [
      { 'autoscaling.keda.sh/paused-scale-out': 'x' },
      { pausedScaleOut: true, fullyPaused: false, anyPause: true },
    ],
    [{ 'autoscaling.keda.sh/force-activation': 'true' }, { forceActivation: true, anyPause: false }],
  ])('%j', (annotations, expected) => {
    expect(parsePauseAnnotations(annotations)).toMatchObject(expected);
  });

  it('ScaledJob pause', () => {
    expect(isScaledJobPaused(undefined)).toBe(false);
    expect(isScaledJobPaused({ 'autoscaling.keda.sh/paused': 'false' })).toBe(false);
    expect(isScaledJobPaused({ 'autoscaling.keda.sh/paused': 'nope' })).toBe(true);
    expect(isScaledJobPaused({ 'autoscaling.keda.sh/paused-replicas': '1' })).toBe(false);
  });

  it('parseExcludedLabels', () => {
    expect(parseExcludedLabels(undefined)).toEqual([]);
    expect(parseExcludedLabels('a, b,,c ')).toEqual(['a', 'b', 'c']);
  });
});
