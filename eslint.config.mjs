import nx from '@nx/eslint-plugin';

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  {
    ignores: ['**/dist', '**/out-tsc', '**/reports'],
  },
  {
    files: ['**/*.ts', '**/*.tsx', '**/*.js', '**/*.jsx'],
    rules: {
      // Module boundaries (STYLE.md): apps depend on libs, libs never on apps;
      // contracts on nothing of ours and on no framework; messaging and platform on contracts.
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: true,
          banTransitiveDependencies: true,
          allow: ['^.*/eslint(\\.base)?\\.config\\.[cm]?[jt]s$'],
          depConstraints: [
            {
              sourceTag: 'scope:contracts',
              onlyDependOnLibsWithTags: [],
              bannedExternalImports: ['@nestjs/*', 'typeorm', 'amqplib', 'pg', 'rxjs', 'express'],
            },
            { sourceTag: 'scope:tracing', onlyDependOnLibsWithTags: ['scope:contracts'] },
            {
              sourceTag: 'scope:messaging',
              onlyDependOnLibsWithTags: ['scope:contracts', 'scope:tracing', 'scope:testing'],
            },
            {
              sourceTag: 'scope:platform',
              onlyDependOnLibsWithTags: ['scope:contracts', 'scope:tracing', 'scope:messaging', 'scope:testing'],
            },
            { sourceTag: 'scope:testing', onlyDependOnLibsWithTags: ['scope:contracts'] },
            {
              sourceTag: 'type:app',
              onlyDependOnLibsWithTags: [
                'scope:contracts',
                'scope:tracing',
                'scope:messaging',
                'scope:platform',
                'scope:testing',
              ],
            },
            {
              sourceTag: 'scope:e2e',
              onlyDependOnLibsWithTags: ['scope:contracts', 'scope:testing'],
            },
          ],
        },
      ],
    },
  },
  {
    // The testing lib (private brokers and databases, test vhosts) is for tests: the projects above may
    // depend on it for their tests, but no production source may import it.
    // (apps/e2e, whose src/ is test support, turns it off in its own config)
    files: ['**/src/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: '@shop/testing', message: 'production code may not depend on the testing lib' }] },
      ],
    },
  },
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
];
