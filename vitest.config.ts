import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Real engines (ffmpeg, espeak-ng, pocketsphinx, llama.cpp) run in these tests; give them room. These
    // limits only catch hangs: on a 2-core machine kept busy by other work (`npm run test:loaded`) a voice
    // turn or a fixture build that takes seconds idle takes close to a minute, so they leave three times that.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // 2-core machines: keep parallelism modest so engine tests do not starve each other.
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
  },
});
