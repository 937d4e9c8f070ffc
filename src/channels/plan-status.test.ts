import { describe, expect, it } from 'vitest';
import { planApprovalText } from './plan-delivery.js';
import { planFinalLine, PlanStatusLine, PLAN_STATUS_STARTING } from './plan-status.js';

const plan = {
  goal: 'Compare two notes',
  subtasks: [
    { id: 'a', capability: 'browse' as const, instructions: 'Read page one', needs: [] },
    { id: 'b', capability: 'chat' as const, instructions: 'Read\n note two', needs: [] },
    { id: 'c', capability: 'chat' as const, instructions: 'Compare', needs: ['a', 'b'] },
  ],
};
const cost = { subtasks: 3, estTokens: 18_000, estSeconds: 100 };
const sub = (subtaskId: string, state: string, extra: object = {}, revision = 0) => ({
  subtaskId,
  taskId: `t-${subtaskId}`,
  capability: plan.subtasks.find((s) => s.id === subtaskId)!.capability,
  revision,
  state,
  ...extra,
});

describe('the plan status line', () => {
  it("counts the latest revision's done subtasks and names what runs now", () => {
    const line = new PlanStatusLine();
    expect(line.line()).toBe(PLAN_STATUS_STARTING);
    expect(line.event('planning', undefined)).toBe('Plan: planning…');
    expect(line.event('plan', { plan, revision: 0, needsApproval: false, cost })).toBe(
      'Plan: 0 of 3 done: waiting…',
    );
    expect(line.event('subtask', sub('a', 'active'))).toBe('Plan: 0 of 3 done: searching…');
    expect(line.event('subtask', sub('b', 'active', { activity: 'writing  the\nanswer' }))).toBe(
      'Plan: 0 of 3 done: writing the answer',
    );
    expect(line.event('subtask', sub('b', 'completed'))).toBe('Plan: 1 of 3 done: searching…');
    expect(line.event('subtask', sub('a', 'completed'))).toBe('Plan: 2 of 3 done: waiting…');
    // an event of an older revision changes nothing; progress of other stages neither
    expect(line.event('subtask', sub('c', 'completed', {}, 1))).toBeUndefined();
    expect(line.event('sentence', { text: 'x' })).toBeUndefined();
    expect(line.event('composing', undefined)).toBe('Plan: 2 of 3 done: writing the answer…');
    // a re-plan starts the count again
    expect(line.event('plan', { plan, revision: 1, needsApproval: false, cost })).toBe(
      'Plan: 0 of 3 done: waiting…',
    );
  });

  it('ends on the result', () => {
    const subtasks = [
      { id: 'a', capability: 'browse', state: 'completed' },
      { id: 'b', capability: 'chat', state: 'dead', error: 'x' },
    ];
    expect(planFinalLine({ status: 'completed', subtasks })).toBe('Plan: done (1 of 2 done).');
    expect(planFinalLine({ status: 'partial', subtasks })).toBe(
      'Plan: finished, with parts missing (1 of 2 done).',
    );
    expect(planFinalLine({ status: 'awaiting-approval' })).toBe('Plan: waiting for your approval.');
    expect(planFinalLine({ status: 'cancelled' })).toBe('Plan: cancelled.');
    expect(planFinalLine({ status: 'failed' })).toBe('Plan: failed.');
  });
});

describe('the plan shown for approval', () => {
  it('numbers the subtasks with their capability and what they wait for, and says how to approve', () => {
    expect(planApprovalText(plan, cost)).toBe(
      [
        'Here is my plan for: Compare two notes',
        '1. [browse] Read page one',
        '2. [chat] Read note two',
        '3. [chat] Compare (after 1, 2)',
        'That is 3 steps, about 18000 tokens and 2 min. Shall I run it? Press "Run the plan" or send /go.',
      ].join('\n'),
    );
  });
});
