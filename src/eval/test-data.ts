/**
 * Test-only: the public dataset files in ../shared/data (see its SOURCES.md). The product never reads
 * them; tests skip with a message when they are absent.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { DatasetId } from './datasets.js';

export const SHARED_DATA = path.resolve(import.meta.dirname, '../../../shared/data');

export const DATA_FILES: Record<DatasetId, string> = {
  humaneval: path.join(SHARED_DATA, 'humaneval/HumanEval.jsonl.gz'),
  'humaneval+': path.join(SHARED_DATA, 'humaneval/HumanEvalPlus-v0.1.10.jsonl.gz'),
  mbpp: path.join(SHARED_DATA, 'mbpp/sanitized-mbpp.json'),
  'mbpp-full': path.join(SHARED_DATA, 'mbpp/mbpp.jsonl'),
  'mbpp+': path.join(SHARED_DATA, 'mbpp/MbppPlus-v0.2.0.jsonl.gz'),
};

export const GOLDEN = path.join(SHARED_DATA, 'humaneval/golden/human-eval-mixed5-results.jsonl');

export const hasSharedData = Object.values(DATA_FILES).every((f) => fs.existsSync(f));
if (!hasSharedData) console.warn(`skipped: eval datasets not found under ${SHARED_DATA}`);
