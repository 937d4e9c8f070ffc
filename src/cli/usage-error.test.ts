import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { execJune } from '../../test/helpers/june-cli.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'june-usage-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const env = { PATH: process.env.PATH ?? '', HOME: dir, JUNE_DATA_DIR: path.join(dir, 'data') };

describe('bad CLI arguments', () => {
  it('end with exit code 2 and a sentence naming the argument, not as a task error', async () => {
    const state = await execJune(['tasks', 'ls', '--state', 'bogus'], { cwd: dir, env });
    expect(state.code).toBe(2);
    expect(state.stderr).toContain('june: unknown state "bogus"');

    const both = await execJune(['tasks', 'dlq', 'redrive', 'chat-x', '--all'], { cwd: dir, env });
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give a task id or --all, not both');
  });

  it('keep exit code 1 for a task that does not exist', async () => {
    const missing = await execJune(['tasks', 'show', 'chat-doesnotexist'], { cwd: dir, env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no task chat-doesnotexist');
  });
});
