import { labelSelectorError } from './label-selector';

describe('labelSelectorError', () => {
  it.each([
    'app=demo',
    'app==demo',
    'app!=demo',
    'app',
    '!app',
    'app in (a, b),tier notin (web)',
    'example.com/app=x,env=',
    'count>3',
  ])('accepts %j', (s) => expect(labelSelectorError(s)).toBeUndefined());

  it.each([
    ['app in (a', 'unbalanced parentheses in "app in (a"'],
    ['app=demo,', 'empty requirement in "app=demo,"'],
    ['-app=x', 'invalid label key "-app"'],
    ['app=has space', 'invalid label value "has space"'],
    ['a b=c', 'unable to parse requirement "a b=c"'],
    ['app in ()', "values set can't be empty"],
    ['count>x', "the value must be an integer"],
    ['Bad_Prefix/app=x', 'the prefix must be a DNS subdomain'],
  ])('rejects %j', (s, message) => expect(labelSelectorError(s)).toContain(message));
});
