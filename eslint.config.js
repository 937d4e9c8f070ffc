import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Import directions between the top-level folders of src/ (docs/architecture.md explains each one).
 * A folder may import only the folders listed for it; `cli` is the composition root and may import all.
 * Tests, shared behaviour suites and `testing/` helpers may cross layers: they assemble real pieces.
 */
export const LAYERS = {
  util: [],
  config: ['util'],
  observability: ['util', 'config'],
  models: ['util', 'config', 'observability'],
  audio: ['util', 'observability'],
  providers: ['util', 'config', 'observability', 'models', 'audio'],
  pipeline: ['util', 'config', 'observability', 'audio', 'providers'],
  tasks: ['util', 'config', 'observability'],
  sandbox: ['util', 'config', 'observability'],
  agent: ['util', 'config', 'observability', 'providers', 'sandbox'],
  eval: ['util', 'config', 'observability', 'models', 'providers', 'sandbox', 'agent', 'tasks'],
  browse: ['util', 'config', 'observability', 'providers'],
  planner: ['util', 'config', 'observability', 'providers', 'tasks', 'agent', 'browse'],
  channels: [
    'util',
    'config',
    'observability',
    'models',
    'audio',
    'providers',
    'pipeline',
    'tasks',
    'agent',
    'browse',
    'planner',
  ],
  web: [
    'util',
    'config',
    'observability',
    'audio',
    'providers',
    'pipeline',
    'tasks',
    'channels',
    'agent',
    'eval',
    'browse',
    'planner',
  ],
  deploy: ['util', 'config', 'observability', 'tasks'],
};
const FOLDERS = [...Object.keys(LAYERS), 'cli'];

function layerRule(folder, allowed) {
  const forbidden = FOLDERS.filter((f) => f !== folder && !allowed.includes(f));
  return {
    files: [`src/${folder}/**/*.ts`],
    ignores: ['**/*.test.ts', '**/*.behaviour.ts', '**/testing/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^(\\.\\./)+(${forbidden.join('|')})/`,
              message: `src/${folder} may import only ${allowed.join(', ') || 'nothing of June'} (docs/architecture.md).`,
            },
            {
              regex: '^(\\.\\./)+(test|bench)/',
              message: 'Product code never imports tests or benchmarks.',
            },
          ],
        },
      ],
    },
  };
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test-results/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  ...Object.entries(LAYERS).map(([folder, allowed]) => layerRule(folder, allowed)),
);
