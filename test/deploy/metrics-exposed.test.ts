/**
 * Every metric, label and label value that the Grafana dashboard and the alert rules use must really be
 * exposed by June. A real June (web server, SQLite queue, in-process workers, pocketsphinx, espeak-ng, the
 * fake OpenAI-compatible server) answers a voice turn, dead-letters a file that is not audio, and fails a
 * text turn when its LLM server goes away. Its /metrics is then read and checked against each expression.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spokenVoiceNote } from '../helpers/speech-fixtures.js';
import { apiClient } from '../e2e/web-client.js';
import { startJune, waitForTask, type RunningJune } from '../e2e/web-harness.js';
import { alertExpressions, dashboardExpressions, EXTERNAL_METRICS, type Expression } from './deploy-files.js';
import { parsePromql } from './promql.js';

/** name → label name → values seen */
type Exposed = Map<string, Map<string, Set<string>>>;

function parseExposition(text: string): Exposed {
  const out: Exposed = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+\S+/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels = out.get(m[1]!) ?? new Map<string, Set<string>>();
    out.set(m[1]!, labels);
    for (const l of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      const values = labels.get(l[1]!) ?? new Set<string>();
      values.add(l[2]!);
      labels.set(l[1]!, values);
    }
  }
  return out;
}

/** Labels Prometheus adds to every scraped series. */
const TARGET_LABELS = new Set(['instance', 'job']);
/** Label values that depend on the deployment (a capability with no task yet has no series). */
const OPEN_VALUES = new Set(['capability']);

/** What one expression needs that /metrics does not have, as readable lines (empty when all is there). */
function missing(e: Expression, exposed: Exposed): string[] {
  const problems: string[] = [];
  const use = parsePromql(e.expr);
  const ours = use.selectors.filter((s) => !EXTERNAL_METRICS.has(s.metric));
  for (const s of ours) {
    const labels = exposed.get(s.metric);
    if (!labels) {
      problems.push(`${e.where}: metric ${s.metric} is not exposed`);
      continue;
    }
    for (const m of s.matchers) {
      const values = labels.get(m.label);
      if (!values) problems.push(`${e.where}: ${s.metric} has no label ${m.label}`);
      else if (m.op === '=' && !OPEN_VALUES.has(m.label) && !values.has(m.value))
        problems.push(`${e.where}: ${s.metric}{${m.label}="${m.value}"} never seen (seen: ${[...values]})`);
    }
  }
  for (const label of use.groupingLabels) {
    if (TARGET_LABELS.has(label) || ours.length === 0) continue;
    if (!ours.some((s) => exposed.get(s.metric)?.has(label)))
      problems.push(`${e.where}: no metric of "${e.expr}" has the label ${label}`);
  }
  return problems;
}

let june: RunningJune;
let exposed: Exposed;

/** Reads /metrics until `until` holds (the LLM failure is counted when its attempt ends). */
async function scrapeUntil(
  base: string,
  until: (e: Exposed) => boolean,
  timeoutMs = 60_000,
): Promise<Exposed> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    const e = parseExposition(await res.text());
    if (until(e) || Date.now() > deadline) return e;
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  june = await startJune({ llmRetries: 0, taskMaxAttempts: 2 });
  const { send, upload } = apiClient(() => june.base);
  // a voice turn that succeeds: every stage histogram, time to first audio, status ok
  const note = await spokenVoiceNote(june.dir, 'what is the weather like today');
  const voice = await upload('', note, { conversation: 'metrics-voice' });
  expect(voice.status).toBe(202);
  expect((await waitForTask(june.base, voice.body.taskId, {}, 90_000)).state).toBe('completed');
  // a dead letter: audio that is not audio fails for good at once
  const junk = await upload('', Buffer.from('this is not an audio file '.repeat(40)), {
    conversation: 'dlq',
  });
  expect(await waitForTask(june.base, junk.body.taskId, {}, 60_000)).toMatchObject({ state: 'dead' });
  // a failed task: the LLM server goes away, the text turn fails (provider_unavailable) and its
  // circuit opens, so the task waits for the server instead of burning its attempts
  await june.llm.close();
  const text = await send('', { text: 'are you there?', conversation: 'metrics-down' });
  expect(text.status).toBe(202);
  exposed = await scrapeUntil(
    june.base,
    (e) =>
      !!e.get('errors_total')?.get('error_type')?.has('provider_unavailable') && e.has('june_circuit_open'),
  );
}, 180_000);

afterAll(async () => {
  await june?.stop();
});

describe('the metrics the dashboard and the alert rules use', () => {
  it('are all exposed by June after a voice turn, a failed task and a dead letter', () => {
    expect(exposed.get('june_tasks_dead')?.get('capability')).toContain('chat');
    expect(exposed.get('june_tasks_failed_total')?.get('outcome')).toContain('dead');
    expect(exposed.get('errors_total')?.get('error_type')).toContain('provider_unavailable');
    expect(exposed.get('june_workers')?.get('capability')).toEqual(new Set(['voice', 'chat']));
    const expressions = [...alertExpressions(), ...dashboardExpressions()];
    expect(expressions.length).toBeGreaterThan(20);
    expect(expressions.flatMap((e) => missing(e, exposed))).toEqual([]);
  });

  it('would notice a metric, a label or a value that June does not expose', () => {
    const fake = (expr: string): Expression => ({ where: 'test', expr });
    expect(missing(fake('sum(rate(june_no_such_metric_total[5m]))'), exposed)).toEqual([
      'test: metric june_no_such_metric_total is not exposed',
    ]);
    expect(missing(fake('sum by (provider) (rate(errors_total[5m]))'), exposed)).toEqual([
      'test: no metric of "sum by (provider) (rate(errors_total[5m]))" has the label provider',
    ]);
    expect(missing(fake('errors_total{service="no-such-service"}'), exposed)[0]).toMatch(
      /errors_total\{service="no-such-service"\} never seen/,
    );
  });
});
