/** The plan checks, each problem as one sentence that goes back to the model (and to the user). */
import { describe, expect, it } from 'vitest';
import { checkPlan, planDepth } from './plan.js';

const limits = { maxSubtasks: 4, maxDepth: 3 };
const s = (id: string, needs: string[] = [], capability = 'chat') => ({
  id,
  capability,
  instructions: `do ${id}`,
  needs,
});
const errorsOf = (raw: unknown, l = limits) => {
  const r = checkPlan(raw, l);
  return r.ok ? [] : r.errors;
};

describe('checkPlan', () => {
  it('accepts a diamond and keeps its shape', () => {
    const r = checkPlan(
      { goal: 'g', subtasks: [s('a'), s('b', ['a']), s('c', ['a']), s('d', ['b', 'c'])] },
      limits,
    );
    expect(r.ok).toBe(true);
    if (r.ok) expect(planDepth(r.plan.subtasks)).toBe(3);
  });

  it('names an unknown capability, an unknown need, a duplicate id and a bad id', () => {
    const errors = errorsOf({
      goal: 'g',
      subtasks: [s('a', [], 'fly'), s('b', ['zz']), s('b'), s('Bad Id')],
    });
    expect(errors).toHaveLength(4);
    expect(errors).toEqual(
      expect.arrayContaining([
        'Subtask "a" has unknown capability "fly"; use one of: chat, code, browse.',
        'Subtask id "b" is used more than once; each id must be unique.',
        'Subtask id "Bad Id" is not allowed: use 1 to 32 lowercase letters, digits, "-" or "_".',
        'Subtask "b" needs "zz", which is not a subtask of the plan.',
      ]),
    );
  });

  it('finds a cycle and says where it is', () => {
    expect(errorsOf({ goal: 'g', subtasks: [s('a', ['c']), s('b', ['a']), s('c', ['b'])] })).toEqual([
      'The plan has a cycle: a needs c needs b needs a; subtasks cannot need each other in a loop.',
    ]);
  });

  it('enforces the subtask and depth limits with the limit named', () => {
    const many = checkPlan({ goal: 'g', subtasks: ['a', 'b', 'c', 'd', 'e'].map((id) => s(id)) }, limits);
    expect(many).toMatchObject({ ok: false, limit: { kind: 'subtasks' } });
    const deep = checkPlan(
      { goal: 'g', subtasks: [s('a'), s('b', ['a']), s('c', ['b']), s('d', ['c'])] },
      limits,
    );
    expect(deep).toEqual({
      ok: false,
      errors: ["The plan's longest chain of subtasks is 4 long; at most 3 are allowed."],
      limit: {
        kind: 'depth',
        message: "The plan's longest chain of subtasks is 4 long; at most 3 are allowed.",
      },
    });
  });

  it('refuses a shape that is not a plan', () => {
    expect(errorsOf({ goal: '', subtasks: [] })).toEqual([
      'The plan is not valid at goal: the goal must not be empty.',
      'The plan is not valid at subtasks: a plan needs at least one subtask.',
    ]);
    expect(errorsOf('nope')[0]).toMatch(/^The plan is not valid in the plan: /);
  });
});
