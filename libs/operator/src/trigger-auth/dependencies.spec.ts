import { AuthDependencies, dependentKey } from './dependencies';

describe('AuthDependencies', () => {
  const so1 = dependentKey('ScaledObject', 'app', 'a');
  const so2 = dependentKey('ScaledObject', 'app', 'b');
  const sj = dependentKey('ScaledJob', 'app', 'j');

  it('indexes dependents by object and replaces a dependent on re-record', () => {
    const deps = new AuthDependencies();
    expect(deps.record(so1, ['Secret/app/s', 'TriggerAuthentication/app/ta'])).toEqual({
      added: ['Secret/app/s', 'TriggerAuthentication/app/ta'],
      removed: [],
    });
    deps.record(so2, ['Secret/app/s']);
    deps.record(sj, ['TriggerAuthentication/app/ta']);
    expect(deps.dependents('Secret/app/s').sort()).toEqual([so1, so2]);
    expect(deps.dependents('TriggerAuthentication/app/ta').sort()).toEqual([sj, so1]);
    expect(deps.record(so1, ['TriggerAuthentication/app/ta', 'ConfigMap/app/c'])).toEqual({ added: ['ConfigMap/app/c'], removed: ['Secret/app/s'] });
    expect(deps.dependents('Secret/app/s')).toEqual([so2]);
    expect(deps.dependents('ConfigMap/app/c')).toEqual([so1]);
  });

  it('forget drops the dependent and empty entries', () => {
    const deps = new AuthDependencies();
    deps.record(so1, ['Secret/app/s']);
    expect(deps.forget(so1)).toEqual(['Secret/app/s']);
    expect(deps.dependents('Secret/app/s')).toEqual([]);
    expect(deps.size).toEqual({ objects: 0, dependents: 0 });
  });

  it('stays small with 10,000 dependents sharing objects', () => {
    const deps = new AuthDependencies();
    for (let i = 0; i < 10_000; i++) deps.record(dependentKey('ScaledObject', `ns${i % 100}`, `so${i}`), [`TriggerAuthentication/ns${i % 100}/ta`, `Secret/ns${i % 100}/s`]);
    expect(deps.size).toEqual({ objects: 200, dependents: 10_000 });
    expect(deps.dependents('Secret/ns7/s')).toHaveLength(100);
  });
});
