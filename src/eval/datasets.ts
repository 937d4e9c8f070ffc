/**
 * The code benchmarks `june eval` knows: HumanEval, HumanEval+ (v0.1.10), MBPP (sanitized and full) and
 * MBPP+ (v0.2.0), read into one shape so the checker never cares which file a problem came from.
 *
 * Each problem carries the program text that checks a sample with the dataset's original asserts
 * (`baseTest`), and for the "plus" datasets the ground truth and inputs for EvalPlus-style differential
 * testing. Files are read from `--problems FILE` or from the dataset cache (see dataset-cache.ts).
 */
import fs from 'node:fs';
import zlib from 'node:zlib';
import { EvalError } from './errors.js';

export type DatasetId = 'humaneval' | 'humaneval+' | 'mbpp' | 'mbpp-full' | 'mbpp+';
export const DATASET_IDS: readonly DatasetId[] = ['humaneval', 'humaneval+', 'mbpp', 'mbpp-full', 'mbpp+'];

export interface DatasetSource {
  id: DatasetId;
  /** File name in the dataset cache. */
  file: string;
  url: string;
  /** SHA-256 of the file at the pinned commit or release tag in `url` (none where upstream is a moving branch). */
  sha256?: string;
  sizeBytes?: number;
  /** Number of problems the file holds. */
  count: number;
  /** Where the differential tests come from, for the plus datasets. */
  plus: boolean;
  /** EvalPlus's oracle family: which special cases apply. */
  family: 'humaneval' | 'mbpp';
  description: string;
  license: string;
}

export const DATASETS: Record<DatasetId, DatasetSource> = {
  humaneval: {
    id: 'humaneval',
    file: 'HumanEval.jsonl.gz',
    url: 'https://github.com/openai/human-eval/raw/6d43fb980f9fee3c892a914eda09951f772ad10d/data/HumanEval.jsonl.gz',
    sha256: 'b796127e635a67f93fb35c04f4cb03cf06f38c8072ee7cee8833d7bee06979ef',
    sizeBytes: 44_877,
    count: 164,
    plus: false,
    family: 'humaneval',
    description: 'HumanEval (OpenAI, 164 problems), original tests',
    license: 'MIT',
  },
  'humaneval+': {
    id: 'humaneval+',
    file: 'HumanEvalPlus-v0.1.10.jsonl.gz',
    url: 'https://github.com/evalplus/humanevalplus_release/releases/download/v0.1.10/HumanEvalPlus.jsonl.gz',
    sha256: '272720b90ac375502c8ed23cd791c2a93dfb22a911641a494da74a426c09f101',
    sizeBytes: 925_932,
    count: 164,
    plus: true,
    family: 'humaneval',
    description: 'HumanEval+ v0.1.10 (EvalPlus): original tests plus differential tests',
    license: 'Apache-2.0',
  },
  mbpp: {
    id: 'mbpp',
    file: 'sanitized-mbpp.json',
    url: 'https://raw.githubusercontent.com/google-research/google-research/master/mbpp/sanitized-mbpp.json',
    count: 427,
    plus: false,
    family: 'mbpp',
    description: 'MBPP sanitized (Google Research, 427 problems)',
    license: 'CC-BY-4.0',
  },
  'mbpp-full': {
    id: 'mbpp-full',
    file: 'mbpp.jsonl',
    url: 'https://raw.githubusercontent.com/google-research/google-research/master/mbpp/mbpp.jsonl',
    count: 974,
    plus: false,
    family: 'mbpp',
    description: 'MBPP full (Google Research, 974 problems)',
    license: 'CC-BY-4.0',
  },
  'mbpp+': {
    id: 'mbpp+',
    file: 'MbppPlus-v0.2.0.jsonl.gz',
    url: 'https://github.com/evalplus/mbppplus_release/releases/download/v0.2.0/MbppPlus.jsonl.gz',
    sha256: 'af43697e8791c4c149bdfd6b489d8b5412507551ac20e28a439f650b8225db63',
    sizeBytes: 336_032,
    count: 378,
    plus: true,
    family: 'mbpp',
    description: 'MBPP+ v0.2.0 (EvalPlus, 378 problems): original tests plus differential tests',
    license: 'Apache-2.0',
  },
};

export interface Problem {
  taskId: string;
  prompt: string;
  entryPoint: string;
  /** Whether a human-eval style `completion` is appended to the prompt (false: it is the whole program). */
  completionExtendsPrompt: boolean;
  /** Appended to the sample's program: runs the original asserts. */
  baseTest: string;
  /** A whole program that passes: the canonical or reference solution. */
  reference: string;
  /**
   * MBPP (sanitized and full): the first assert, which EvalPlus's prompt shows the model with the
   * description (MBPP+'s prompt already holds it).
   */
  firstTest?: string;
  /**
   * Plus datasets: the ground truth the sample is compared with, on the `plus_input` of `record` (the
   * dataset line, parsed by Python in the sandbox).
   */
  plus?: { groundTruth: string; record: string; atol: number; mbppNumber?: number };
}

export interface Dataset {
  source: DatasetSource;
  problems: Problem[];
  byId: Map<string, Problem>;
}

export function isDatasetId(value: string): value is DatasetId {
  return (DATASET_IDS as readonly string[]).includes(value);
}

/** Reads a dataset file (.jsonl, .jsonl.gz or a JSON array) and checks every problem has what it needs. */
export function loadDataset(id: DatasetId, file: string): Dataset {
  const source = DATASETS[id];
  const records = readRecords(file);
  const problems = records.map((r, i) => {
    try {
      return toProblem(id, r);
    } catch (err) {
      throw new EvalError(
        'eval_bad_dataset',
        `${file}: record ${i + 1} is not a ${id} problem (${(err as Error).message}). Is this the right --dataset for this file?`,
      );
    }
  });
  if (problems.length === 0) throw new EvalError('eval_bad_dataset', `${file} holds no problems.`);
  return { source, problems, byId: new Map(problems.map((p) => [p.taskId, p])) };
}

/** JSON lines (optionally gzipped) or one JSON array. */
export function readRecords(file: string): Record<string, unknown>[] {
  let raw: Buffer;
  try {
    raw = fs.readFileSync(file);
  } catch (err) {
    throw new EvalError(
      'eval_bad_input',
      `Cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? err}.`,
    );
  }
  const text = (raw[0] === 0x1f && raw[1] === 0x8b ? zlib.gunzipSync(raw) : raw).toString('utf8');
  const trimmed = text.trimStart();
  if (trimmed.startsWith('[')) return JSON.parse(trimmed) as Record<string, unknown>[];
  const out: Record<string, unknown>[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let value: Record<string, unknown>;
    try {
      value = JSON.parse(line) as Record<string, unknown>;
    } catch {
      try {
        value = JSON.parse(pythonJsonToJson(line)) as Record<string, unknown>;
      } catch {
        throw new EvalError('eval_bad_input', `${file}: line ${i + 1} is not valid JSON.`);
      }
    }
    rawLines.set(value, line);
    out.push(value);
  });
  return out;
}

/**
 * The line a record was read from. Test inputs travel to the sandbox as this text, parsed there by
 * Python: JavaScript numbers would round integers above 2^53, and EvalPlus's files use Python's
 * NaN/Infinity, which JSON.parse rejects.
 */
const rawLines = new WeakMap<object, string>();

/** Python's json module writes NaN, Infinity and -Infinity; for JavaScript's view they become null. */
export function pythonJsonToJson(line: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (inString) {
      out += ch;
      if (ch === '\\') out += line[++i] ?? '';
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    const word = /^(-?Infinity|NaN)/.exec(line.slice(i, i + 9));
    if (word && !/[\w.]/.test(line[i - 1] ?? '')) {
      out += 'null';
      i += word[0].length - 1;
      continue;
    }
    out += ch;
  }
  return out;
}

function str(r: Record<string, unknown>, key: string): string {
  const v = r[key];
  if (typeof v !== 'string') throw new Error(`field "${key}" missing`);
  return v;
}

function strList(r: Record<string, unknown>, key: string): string[] {
  const v = r[key];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new Error(`field "${key}" missing`);
  return v as string[];
}

/** "HumanEval/3", "Mbpp/2": MBPP's numeric ids get EvalPlus's spelling so sample files of both kinds match. */
export function mbppTaskId(id: unknown): string {
  const s = String(id);
  return s.startsWith('Mbpp/') ? s : `Mbpp/${s}`;
}

/**
 * MBPP's files do not name an entry point: it is the reference's function that the first assert calls
 * (`assert math.isclose(volume_sphere(10), …)` calls volume_sphere), else the first call in that assert.
 */
function entryFromAsserts(tests: string[], reference: string): string {
  const test = tests[0] ?? '';
  const defined = [...reference.matchAll(/^\s*def\s+([A-Za-z_]\w*)\s*\(/gm)].map((m) => m[1]!);
  const called = defined.find((name) => new RegExp(`\\b${name}\\s*\\(`).test(test));
  if (called) return called;
  return /assert\s*\(?\s*([A-Za-z_]\w*)\s*\(/.exec(test)?.[1] ?? '';
}

function toProblem(id: DatasetId, r: Record<string, unknown>): Problem {
  switch (id) {
    case 'humaneval':
    case 'humaneval+': {
      const prompt = str(r, 'prompt');
      const entryPoint = str(r, 'entry_point');
      const problem: Problem = {
        taskId: str(r, 'task_id'),
        prompt,
        entryPoint,
        completionExtendsPrompt: true,
        baseTest: `\n${str(r, 'test')}\ncheck(${entryPoint})\n`,
        reference: prompt + str(r, 'canonical_solution'),
      };
      if (id === 'humaneval+') problem.plus = plusPart(r, prompt + str(r, 'canonical_solution'));
      return problem;
    }
    case 'mbpp+': {
      const taskId = str(r, 'task_id');
      const reference = str(r, 'prompt') + str(r, 'canonical_solution');
      return {
        taskId,
        prompt: str(r, 'prompt'),
        entryPoint: str(r, 'entry_point'),
        completionExtendsPrompt: true,
        // a few assertions call math.isclose without importing math (the reference solutions do not need it)
        baseTest: `\nimport math\n${str(r, 'assertion')}\n`,
        reference,
        plus: { ...plusPart(r, reference), mbppNumber: Number(taskId.split('/')[1]) },
      };
    }
    case 'mbpp': {
      const tests = strList(r, 'test_list');
      const imports = Array.isArray(r.test_imports) ? (r.test_imports as string[]) : [];
      return {
        taskId: mbppTaskId(r.task_id),
        prompt: str(r, 'prompt'),
        entryPoint: entryFromAsserts(tests, str(r, 'code')),
        completionExtendsPrompt: false,
        baseTest: `\n${[...imports, ...tests].join('\n')}\n`,
        reference: str(r, 'code'),
        ...(tests[0] !== undefined ? { firstTest: tests[0] } : {}),
      };
    }
    case 'mbpp-full': {
      const tests = strList(r, 'test_list');
      const setup = typeof r.test_setup_code === 'string' ? r.test_setup_code : '';
      return {
        taskId: mbppTaskId(r.task_id),
        prompt: str(r, 'text'),
        entryPoint: entryFromAsserts(tests, str(r, 'code')),
        completionExtendsPrompt: false,
        baseTest: `\n${setup}\n${tests.join('\n')}\n`,
        reference: str(r, 'code'),
        ...(tests[0] !== undefined ? { firstTest: tests[0] } : {}),
      };
    }
  }
}

function plusPart(r: Record<string, unknown>, groundTruth: string) {
  // an empty plus_input is written as {} in a few MBPP+ records
  if (!Array.isArray(r.plus_input) && typeof r.plus_input !== 'object')
    throw new Error('field "plus_input" missing');
  const record = rawLines.get(r);
  if (record === undefined) throw new Error('plus datasets must be JSON lines');
  const atol = typeof r.atol === 'number' ? r.atol : 0;
  return { groundTruth, record, atol };
}
