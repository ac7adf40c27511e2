import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'web/dist/',
      'node_modules/',
      'data/',
      'coverage/',
      '.cache/',
      'src/core/dicom/dictionary.generated.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // core/ is pure: no I/O modules, no adapters, no configuration.
    files: ['src/core/**/*.ts'],
    ignores: ['src/core/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:fs', 'node:fs/*', 'node:net', 'node:tls', 'node:http', 'node:child_process'],
              message: 'core/ is pure: no I/O',
            },
            {
              group: ['**/adapters/**', '**/services/**', '**/servers/**'],
              message: 'core/ depends on nothing above it',
            },
          ],
        },
      ],
    },
  },
  {
    // ports/ are interfaces over core types only.
    files: ['src/ports/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '**/adapters/**',
                '**/services/**',
                '**/servers/**',
                '**/main.js',
                '**/app.js',
                '**/config.js',
              ],
              message: 'ports depend on core only',
            },
            { group: ['node:*'], message: 'ports are free of I/O' },
          ],
        },
      ],
    },
  },
  {
    // net/ is the DICOM upper layer and DIMSE over sockets, for both roles: core below it, nothing above.
    files: ['src/net/**/*.ts'],
    ignores: ['src/net/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '**/adapters/**',
                '**/services/**',
                '**/servers/**',
                '**/ports/**',
                '**/main.js',
                '**/app.js',
                '**/config.js',
              ],
              message: 'net/ depends on core only',
            },
          ],
        },
      ],
    },
  },
  {
    // servers/ translate wire to use case: they reach services and ports through the app, never adapters.
    files: ['src/servers/**/*.ts'],
    ignores: ['src/servers/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/adapters/**'], message: 'servers use ports and services, not adapters' },
            { group: ['**/main.js'], message: 'servers get the app from main, typed by app.ts' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/services/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/adapters/**', '**/servers/**', '**/net/**'],
              message: 'services depend on ports, not adapters or the network',
            },
          ],
        },
      ],
    },
  },
  {
    // The web app runs in the browser and reaches the server over HTTP only: of the server's code it may use
    // the pure core (the DICOM dictionary, the JSON model), never services, ports, adapters or servers.
    files: ['web/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '**/src/services/**',
                '**/src/ports/**',
                '**/src/adapters/**',
                '**/src/servers/**',
                '**/src/net/**',
                '**/src/main.js',
                '**/src/app.js',
                '**/src/config.js',
              ],
              message: 'the web app talks to the server over HTTP; it shares only core/',
            },
          ],
        },
      ],
    },
  },
);
