/**
 * `june eval report RUN`: one self-contained HTML file (inline CSS and SVG, no scripts, no network) with
 * pass@k bars, a per-task grid, a histogram of check times and the failure categories, plus each failing
 * sample's first failing input, expected and actual values. Runs of the model and agent modes add their
 * efficiency (tokens, model time, steps, cost), a histogram of tokens per sample, and each failing
 * sample's answer file or agent trajectory. Everything from the run is escaped.
 */
import type { Verdict } from './checker.js';
import type { SampleVerdict } from './types.js';
import { baselinesFor } from './baselines.js';
import type { EvalSummary } from './summary.js';

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

function bars(title: string, values: Record<string, number>): string {
  const rows = Object.entries(values)
    .map(
      ([k, v]) =>
        `<div class="bar"><span class="k">${esc(k)}</span><span class="track"><span class="fill" style="width:${(v * 100).toFixed(1)}%"></span></span><span class="v">${pct(v)}</span></div>`,
    )
    .join('');
  return `<h3>${esc(title)}</h3>${rows || '<p>no k with enough samples</p>'}`;
}

const MS_BUCKETS = [10, 30, 100, 300, 1000, 3000, 10000, Infinity];
const msLabel = (b: number) => (b === Infinity ? '>10s' : `≤${b >= 1000 ? `${b / 1000}s` : `${b}ms`}`);
const TOKEN_BUCKETS = [100, 300, 1000, 3000, 10000, 30000, 100000, Infinity];
const tokenLabel = (b: number) => (b === Infinity ? '>100k' : `≤${b >= 1000 ? `${b / 1000}k` : b}`);

function histogram(
  valuesMs: number[],
  buckets = MS_BUCKETS,
  labelOf = msLabel,
  name = 'check time histogram',
): string {
  if (valuesMs.length === 0) return '';
  const counts = buckets.map(() => 0);
  for (const v of valuesMs) counts[buckets.findIndex((b) => v <= b)]!++;
  const max = Math.max(...counts, 1);
  const w = 48;
  const rects = counts
    .map((c, i) => {
      const h = Math.round((c / max) * 100);
      const label = labelOf(buckets[i]!);
      return `<rect x="${i * w + 4}" y="${110 - h}" width="${w - 8}" height="${h}" class="h"/><text x="${i * w + w / 2}" y="124" text-anchor="middle">${esc(label)}</text><text x="${i * w + w / 2}" y="${106 - h}" text-anchor="middle">${c}</text>`;
    })
    .join('');
  return `<svg viewBox="0 0 ${buckets.length * w} 130" width="${buckets.length * w * 1.5}" role="img" aria-label="${esc(name)}">${rects}</svg>`;
}

function efficiencyTable(summary: EvalSummary): string {
  const e = summary.efficiency;
  if (!e) return '';
  const rows: [string, string | number][] = [
    ['wall time per problem', `${e.wallSecondsPerProblem} s`],
    ['wall time per sample', `${e.wallSecondsPerSample} s`],
    ['model time', `${e.modelSeconds} s`],
    ['prompt tokens', e.tokens.prompt],
    ['completion tokens', e.tokens.completion],
    ['reasoning tokens (estimated)', e.tokens.reasoning],
    ['tokens per sample', e.tokensPerSample],
    ['model replies (steps)', e.steps],
    ['tool calls', e.toolCalls],
    ['sandbox CPU', `${e.sandboxCpuSeconds} s`],
    ...(e.costUsd !== undefined ? [['cost', `$${e.costUsd.toFixed(4)}`] as [string, string]] : []),
  ];
  return `<h2>Efficiency</h2><table>${rows.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join('')}</table>`;
}

export function renderReport(summary: EvalSummary, verdicts: Verdict[]): string {
  const produced = verdicts as SampleVerdict[];
  const tasks = Object.entries(summary.perTask);
  const grid = tasks
    .map(([id, t]) => {
      const ok = t.plus !== undefined ? t.plus / t.n : t.base / t.n;
      const cls = ok === 1 ? 'ok' : t.base > 0 ? 'part' : 'bad';
      return `<a href="#${esc(id)}" class="cell ${cls}" title="${esc(id)}: base ${t.base}/${t.n}${t.plus !== undefined ? `, plus ${t.plus}/${t.n}` : ''}"></a>`;
    })
    .join('');
  const categories = new Map<string, number>();
  for (const v of verdicts) {
    if (v.status !== 'pass') {
      const kind = v.detail?.error?.split(':')[0] ?? v.status;
      const key = `${v.status}: ${kind}`;
      categories.set(key, (categories.get(key) ?? 0) + 1);
    } else if (v.plus_status && v.plus_status !== 'pass') {
      const key = `plus ${v.plus_status}: ${v.plus_detail?.error?.split(':')[0] ?? 'wrong output'}`;
      categories.set(key, (categories.get(key) ?? 0) + 1);
    }
  }
  const catRows = [...categories]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `<tr><td>${esc(k)}</td><td>${n}</td></tr>`)
    .join('');
  const failures = verdicts
    .filter((v) => v.status !== 'pass' || (v.plus_status && v.plus_status !== 'pass'))
    .slice(0, 500)
    .map((v) => {
      const failedPlus = v.status === 'pass';
      const d = (failedPlus ? v.plus_detail : v.detail) ?? {};
      return `<tr id="${esc(v.task_id)}"><td>${esc(v.task_id)}#${v.sample}</td><td>${esc(failedPlus ? `plus ${v.plus_status}` : v.status)}</td><td><code>${esc(d.input ?? d.assertion ?? '')}</code></td><td><code>${esc(d.expected ?? '')}</code></td><td><code>${esc(d.actual ?? d.error ?? '')}</code></td><td><code>${esc((v as SampleVerdict).trajectory ?? (v as SampleVerdict).answer_file ?? '')}</code></td></tr>`;
    })
    .join('');
  const baselines = baselinesFor(summary.dataset)
    .map(
      (b) =>
        `<tr><td>${esc(b.model)}</td><td>${esc(b.metric)}</td><td>${pct(b.value)}</td><td>${b.agentic ? 'agentic' : 'model only'}</td><td>${esc(b.source)}</td></tr>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>June eval: ${esc(summary.dataset)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
.bar{display:flex;align-items:center;gap:.5em;margin:.2em 0}.k{width:6em}.v{width:4em}
.track{flex:1;background:#eee;height:1em;border-radius:3px}.fill{display:block;height:100%;background:#3a7;border-radius:3px}
.grid{display:flex;flex-wrap:wrap;gap:2px}.cell{width:12px;height:12px;display:block}.ok{background:#3a7}.part{background:#eb3}.bad{background:#d44}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;vertical-align:top;text-align:left}
code{white-space:pre-wrap;word-break:break-all}.h{fill:#57a}svg text{font-size:9px}
</style></head><body>
<h1>${esc(summary.dataset)}: ${summary.samples} samples, ${summary.tasks} tasks</h1>
<p>mode ${esc(summary.mode ?? 'samples')}${summary.model ? ` · model ${esc(summary.model)}` : ''}${summary.temperature !== undefined ? ` · temperature ${esc(summary.temperature)}` : ''} · n ${summary.n}</p>
<p>started ${esc(summary.startedAt)} · ${summary.wallSeconds} s wall · concurrency ${summary.concurrency} · sandbox CPU ${summary.sandboxCpuSeconds} s</p>
${bars('pass@k (base tests)', summary.passAtK.base)}
${summary.passAtK.plus ? bars('pass@k (base + plus tests)', summary.passAtK.plus) : ''}
<h2>Tasks</h2><div class="grid">${grid}</div>
<h2>Check time per sample</h2>${histogram(verdicts.map((v) => v.wall_ms))}
${efficiencyTable(summary)}
${
  produced.some((v) => v.metrics)
    ? `<h2>Tokens per sample</h2>${histogram(
        produced.filter((v) => v.metrics).map((v) => v.metrics!.tokens.prompt + v.metrics!.tokens.completion),
        TOKEN_BUCKETS,
        tokenLabel,
        'tokens histogram',
      )}`
    : ''
}
<h2>Failure categories</h2><table><tr><th>category</th><th>samples</th></tr>${catRows}</table>
<h2>Failures</h2><table><tr><th>task</th><th>status</th><th>input</th><th>expected</th><th>actual / error</th><th>answer / trajectory</th></tr>${failures}</table>
${baselines ? `<h2>Published baselines</h2><table><tr><th>model</th><th>metric</th><th>value</th><th>kind</th><th>source</th></tr>${baselines}</table>` : ''}
</body></html>
`;
}
