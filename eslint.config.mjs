import nx from '@nx/eslint-plugin';

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  { ignores: ['**/dist', '**/out-tsc', '**/generated/**', '**/*.d.ts'] },
  {
    files: ['**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: true,
          allow: [],
          depConstraints: [
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:feature', 'type:data-access', 'type:util'] },
            { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:feature', 'type:data-access', 'type:util', 'type:testing'] },
            { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:data-access', 'type:util', 'type:testing'] },
            { sourceTag: 'type:feature', onlyDependOnLibsWithTags: ['type:feature', 'type:data-access', 'type:util'] },
            { sourceTag: 'type:data-access', onlyDependOnLibsWithTags: ['type:data-access', 'type:util'] },
            { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:util'] },
            { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
            { sourceTag: 'scope:controller', onlyDependOnLibsWithTags: ['scope:controller', 'scope:shared'] },
            { sourceTag: 'scope:metrics-adapter', onlyDependOnLibsWithTags: ['scope:metrics-adapter', 'scope:shared'] },
            { sourceTag: 'scope:webhook', onlyDependOnLibsWithTags: ['scope:webhook', 'scope:shared'] },
            // The webhook checks metadata with the descriptors of @keda-ts/scaler-sdk only: no event-source client in its bundle.
            { sourceTag: 'scope:webhook', notDependOnLibsWithTags: ['scalers:implementations'] },
            // The keda-ts CLI runs the controller's and the webhook's logic locally (explain, check).
            { sourceTag: 'scope:cli', onlyDependOnLibsWithTags: ['scope:cli', 'scope:shared', 'scope:controller', 'scope:webhook'] },
            { sourceTag: 'type:config', onlyDependOnLibsWithTags: ['type:util'] },
            { sourceTag: 'scope:chart', onlyDependOnLibsWithTags: ['scope:chart', 'scope:shared'] },
            { sourceTag: 'scope:e2e', onlyDependOnLibsWithTags: ['scope:e2e', 'scope:shared', 'scope:controller', 'scope:metrics-adapter', 'scope:webhook', 'scope:cli'] }
          ]
        }
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // A dependency is used through its public entry points only: no deep imports into its private
      // directories (`kafkajs/src/...`, `@scope/pkg/build/...`). Our own @keda-ts/* libs are not concerned.
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?:@(?!keda-ts/)[^/]+/[^/]+|[^@./][^/:]*)/(?:src|lib|dist|build)(?:/|$)',
              message: "Deep import into a package's private directory: use its public entry points (package.json `exports`) only.",
            },
          ],
        },
      ]
    }
  }
];
