// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { files: ['bin/**/*.js'], languageOptions: { globals: { process: 'readonly' } } },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Data flows one way: only the CLI (composition root) may wire concrete adapters.
      'no-restricted-imports': 'off',
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['../*/**', '../../*'] }],
    },
  },
  {
    files: ['providers/**/*.ts'],
    rules: {
      // Types of a provider's validated target options (src/config/targets) are fine: no code follows them.
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^\\.\\./\\.\\./src/(?!core/)',
              message: 'providers import only src/core (and types)',
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/{config,plan,schedule,engine,metrics,store,report,analysis,serve}/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '(^|/)(cli|providers)/', message: 'only src/cli wires providers' }] },
      ],
    },
  },
);
