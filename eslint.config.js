// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Which folder may import which is not checked here: architecture/layers.json holds the layers and
// `npm run lint:arch` (dependency-cruiser, part of `npm run lint`) enforces them.
export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { files: ['bin/**/*.js'], languageOptions: { globals: { process: 'readonly' } } },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
);
