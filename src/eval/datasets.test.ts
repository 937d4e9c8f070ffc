import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasetFile, datasetsDir } from './dataset-cache.js';
import { DATASETS, DATASET_IDS, loadDataset, pythonJsonToJson } from './datasets.js';
import { readSamples } from './samples.js';
import { DATA_FILES, hasSharedData } from './test-data.js';

describe.skipIf(!hasSharedData)('datasets', () => {
  it('reads every dataset with its published number of problems', () => {
    for (const id of DATASET_IDS) {
      const ds = loadDataset(id, DATA_FILES[id]);
      expect(ds.problems.length, id).toBe(DATASETS[id].count);
      for (const p of ds.problems) {
        expect(p.entryPoint, `${id} ${p.taskId}`).toMatch(/^\w+$/);
        expect(p.baseTest.length).toBeGreaterThan(0);
        expect(Boolean(p.plus), `${id} plus`).toBe(DATASETS[id].plus);
      }
    }
    expect(loadDataset('mbpp+', DATA_FILES['mbpp+']).problems[0]!.taskId).toBe('Mbpp/2');
  });

  it('says which record of a file does not fit the dataset', () => {
    expect(() => loadDataset('humaneval+', DATA_FILES.humaneval)).toThrow(
      /record 1 is not a humaneval\+ problem/,
    );
  });

  it('accepts both sample formats and checks every line up front', () => {
    const ds = loadDataset('humaneval', DATA_FILES.humaneval);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'june-samples-'));
    const file = path.join(dir, 's.jsonl');
    fs.writeFileSync(
      file,
      [
        JSON.stringify({ task_id: 'HumanEval/0', completion: '    return 1\n' }),
        JSON.stringify({ task_id: 'HumanEval/0', solution: 'def has_close_elements(a, b):\n    return 2\n' }),
      ].join('\n'),
    );
    const samples = readSamples(file, ds);
    expect(samples.map((s) => s.sample)).toEqual([0, 1]);
    expect(samples[0]!.program.startsWith(ds.byId.get('HumanEval/0')!.prompt)).toBe(true);
    expect(samples[1]!.program).toBe('def has_close_elements(a, b):\n    return 2\n');
    fs.appendFileSync(file, '\n' + JSON.stringify({ task_id: 'HumanEval/999', completion: '' }));
    expect(() => readSamples(file, ds)).toThrow(/sample 3: task HumanEval\/999 is not in humaneval/);
    fs.writeFileSync(file, JSON.stringify({ task_id: 'HumanEval/1', answer: 'x' }));
    expect(() => readSamples(file, ds)).toThrow(/neither "completion" nor "solution"/);
  });
});

describe('Python JSON', () => {
  it('turns NaN and Infinity outside strings into null and leaves strings alone', () => {
    const line = '{"a": [NaN, -Infinity, Infinity, 1.5], "s": "NaN and \\"Infinity\\"", "t": "x"}';
    expect(JSON.parse(pythonJsonToJson(line))).toEqual({
      a: [null, null, null, 1.5],
      s: 'NaN and "Infinity"',
      t: 'x',
    });
  });
});

describe.skipIf(!hasSharedData)('dataset cache', () => {
  let server: http.Server;
  let base = '';
  let body = Buffer.alloc(0);
  let requests = 0;
  beforeAll(async () => {
    server = http.createServer((_req, res) => {
      requests++;
      res.setHeader('content-length', body.length);
      res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  it('downloads on first use, verifies the checksum, and uses the cache afterwards', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'june-datasets-'));
    const config = { modelsDir: dir, offline: false };
    body = fs.readFileSync(DATA_FILES.humaneval);
    const file = await datasetFile(config, 'humaneval', { baseUrl: base });
    expect(file).toBe(path.join(datasetsDir(config), 'HumanEval.jsonl.gz'));
    expect(loadDataset('humaneval', file).problems).toHaveLength(164);
    const before = requests;
    expect(await datasetFile(config, 'humaneval', { baseUrl: base })).toBe(file);
    expect(requests).toBe(before);
  });

  it('refuses a file whose checksum is not the published one', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'june-datasets-'));
    body = Buffer.from(fs.readFileSync(DATA_FILES.humaneval));
    body[100] = body[100]! ^ 0xff;
    await expect(
      datasetFile({ modelsDir: dir, offline: false }, 'humaneval', { baseUrl: base }),
    ).rejects.toThrow(/corrupt/);
    expect(fs.existsSync(path.join(dir, 'datasets', 'HumanEval.jsonl.gz'))).toBe(false);
  });

  it('offline, says where to put the file and that --problems works', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'june-datasets-'));
    await expect(datasetFile({ modelsDir: dir, offline: true }, 'mbpp+')).rejects.toThrow(
      /downloads are turned off.*MbppPlus\.jsonl\.gz.*--problems FILE/,
    );
  });
});
