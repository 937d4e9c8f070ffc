/** `june code` end to end: the real CLI against a scripted OpenAI-compatible server and real bubblewrap. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeCalls } from '../../../test/helpers/fake-agent-scripts.js';
import { startFakeOpenAiServer, type FakeOpenAiServer } from '../../../test/helpers/fake-openai-server.js';
import { execJune, repoRoot } from '../../../test/helpers/june-cli.js';
import { checkBubblewrap } from '../../sandbox/factory.js';

const bwrap = await checkBubblewrap();

describe.skipIf(!bwrap.ok)('june code', () => {
  let server: FakeOpenAiServer;
  let env: NodeJS.ProcessEnv;
  let projects: string;

  beforeAll(async () => {
    server = await startFakeOpenAiServer({ models: ['coder'] });
    projects = fs.mkdtempSync(path.join(os.tmpdir(), 'june-projects-'));
    env = {
      PATH: process.env.PATH,
      HOME: os.tmpdir(),
      JUNE_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'june-code-data-')),
      JUNE_LLM_BASE_URL: server.url,
      JUNE_LLM_MODEL: 'coder',
      JUNE_AGENT_PROJECTS: projects,
    };
  });
  afterAll(() => server.close());

  it('runs a task on a copy of a project, then shows, diffs and applies the run', async () => {
    const project = path.join(projects, 'calc');
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'calc.py'), 'def add(a, b):\n    return a - b\n');
    server.enqueue(
      nativeCalls([{ name: 'edit_file', args: { path: 'calc.py', old_text: 'a - b', new_text: 'a + b' } }]),
      nativeCalls([
        { name: 'execute_command', args: { command: 'python3 -c "import calc; print(calc.add(2, 3))"' } },
      ]),
      nativeCalls([{ name: 'finish', args: { summary: 'Fixed add: it subtracted.' } }]),
    );
    const r = await execJune(['code', 'fix the add function', '--workspace', project, '--json'], {
      cwd: repoRoot,
      env,
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(out)).toEqual(
      expect.arrayContaining([
        'status',
        'answer',
        'steps',
        'toolCalls',
        'tokens',
        'diff',
        'trajectory',
        'timings',
      ]),
    );
    expect(out).toMatchObject({
      status: 'completed',
      answer: 'Fixed add: it subtracted.',
      steps: 3,
      toolCalls: 3,
    });
    expect(out.diff).toContain('+    return a + b');
    expect(fs.readFileSync(path.join(project, 'calc.py'), 'utf8')).toContain('a - b');
    const runId = String(out.runId);

    const show = await execJune(['code', 'show', runId], { cwd: repoRoot, env });
    expect(show.stdout).toContain('→ execute_command');
    expect(show.stdout).toMatch(/exit 0, \d+ ms wall/);
    expect(show.stdout).toContain('completed after 3 steps');

    const step1 = await execJune(['code', 'diff', runId, '--step', '1'], { cwd: repoRoot, env });
    expect(step1.stdout).toContain('-    return a - b');
    const missing = await execJune(['code', 'diff', runId, '--step', '3'], { cwd: repoRoot, env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('step 3 changed no files');

    const apply = await execJune(['code', 'apply', runId], { cwd: repoRoot, env });
    expect(apply.stdout).toContain('applied to');
    expect(fs.readFileSync(path.join(project, 'calc.py'), 'utf8')).toContain('a + b');
  });

  it('refuses a project outside JUNE_AGENT_PROJECTS and an unknown run', async () => {
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'june-elsewhere-'));
    const r = await execJune(['code', 'do it', '--workspace', elsewhere], { cwd: repoRoot, env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('JUNE_AGENT_PROJECTS');
    const show = await execJune(['code', 'show', 'nope'], { cwd: repoRoot, env });
    expect(show.code).toBe(1);
    expect(show.stderr).toContain('no run nope');
  });
});
