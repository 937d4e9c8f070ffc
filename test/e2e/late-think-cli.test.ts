/**
 * `june ask` against a Qwen3-Thinking-2507 served without a reasoning parser, under three names: the
 * thought that only a late `</think>` gives away is neither printed nor spoken, and the next run (a new
 * process) already knows that the model thinks.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPLIES } from '../../src/pipeline/replies.js';
import { startFakeOpenAiServer, type FakeOpenAiServer } from '../helpers/fake-openai-server.js';
import { LATE_ANSWER, LATE_THOUGHT, scenarios } from '../helpers/fake-openai-scenarios.js';
import { execJune, juneArgv } from '../helpers/june-cli.js';
import { SERVED_NAMES, expectAnswerOnly, spokenLengths, type SpokenLengths } from '../helpers/late-think.js';
import { ffprobeBuffer, makeTempDir } from '../helpers/speech-fixtures.js';

let dir: string;
let server: FakeOpenAiServer;
let lengths: SpokenLengths;

beforeAll(async () => {
  dir = await makeTempDir('june-late-think-cli-');
  server = await startFakeOpenAiServer({ models: SERVED_NAMES });
  lengths = await spokenLengths();
});

afterAll(async () => {
  await server?.close();
});

interface AskJson {
  text: string;
  reasoning: string;
  audio: { durationSec: number } | null;
}

describe.each(SERVED_NAMES)('june ask with the model served as %s', (name) => {
  const dataDir = () => path.join(dir, name.replaceAll('/', '_'));
  const ask = async (out: string) => {
    const r = await execJune(['ask', 'what is the capital of France', '--speak', out, '--json'], {
      cwd: dir,
      env: {
        PATH: process.env.PATH,
        HOME: dir,
        JUNE_MODELS_DIR: path.join(dir, 'models'),
        JUNE_DATA_DIR: dataDir(),
        JUNE_LLM_BASE_URL: server.url,
        JUNE_LLM_MODEL: name,
      },
    });
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as AskJson;
  };

  it('prints and speaks only the answer, and remembers that the model thinks', async () => {
    server.enqueue(scenarios.lateCloseThought(name));
    const first = await ask(path.join(dir, 'first.ogg'));
    expect(first.text).toBe(LATE_ANSWER);
    expect(first.reasoning).toBe(LATE_THOUGHT);
    const voice = await fs.readFile(path.join(dir, 'first.ogg'));
    expectAnswerOnly((await ffprobeBuffer(dir, voice, 'first-probe.ogg')).duration, lengths);
    expectAnswerOnly(first.audio!.durationSec, lengths);

    const memory = path.join(dataDir(), 'llm-thinking.json');
    expect((await fs.stat(memory)).mode & 0o777).toBe(0o600);

    // the next run reads the model as thinking from the first token: a thought cut off by the token limit
    // before its </think> is taken for what it is, not printed as the answer
    server.enqueue(scenarios.truncatedThought(name));
    const second = await ask(path.join(dir, 'second.ogg'));
    expect(second.text).toBe(REPLIES.emptyAnswer);
    expect(second.reasoning).toBe(LATE_THOUGHT);
  });
});

describe('june ask on a terminal', () => {
  it('erases the thought it streamed as the answer once </think> shows what it was', async () => {
    server.enqueue(scenarios.lateCloseThought('qwen3'));
    const quote = (a: string) => `'${a.replaceAll("'", "'\\''")}'`;
    const command = [process.execPath, ...juneArgv(['ask', 'what is the capital of France'])]
      .map(quote)
      .join(' ');
    // script(1) gives June a pseudo-terminal, so it streams the answer as it comes
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        'script',
        ['-qec', command, '/dev/null'],
        {
          cwd: dir,
          timeout: 60_000,
          env: {
            PATH: process.env.PATH,
            HOME: dir,
            JUNE_MODELS_DIR: path.join(dir, 'models'),
            JUNE_DATA_DIR: path.join(dir, 'terminal'),
            JUNE_LLM_BASE_URL: server.url,
            JUNE_LLM_MODEL: 'qwen3',
          },
        },
        (err, stdout) => (err ? reject(err) : resolve(stdout)),
      ),
    );
    const esc = String.fromCharCode(27);
    const erase = new RegExp(`${esc}\\[(\\d+F)?${esc}\\[J|\\r${esc}\\[J`, 'g');
    const cut = [...out.matchAll(erase)].at(-1);
    expect(cut, JSON.stringify(out)).toBeDefined();
    // the thought was on the screen, then erased; what stays is the answer alone
    expect(out.slice(0, cut!.index)).toContain(LATE_THOUGHT.slice(0, 40));
    expect(out.slice(cut!.index + cut![0].length).trim()).toBe(LATE_ANSWER);
  });
});
