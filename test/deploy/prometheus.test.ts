/**
 * The Prometheus side of deploy/: promtool (Debian's prometheus package) checks the alert rules, runs
 * their unit tests (alerts.test.yml: every alert fires on its case and stays silent on a look-alike) and
 * checks the scrape config; the dashboard is checked for what Grafana needs to provision it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { alertExpressions, dashboard, dashboardExpressions, DEPLOY } from './deploy-files.js';
import { parsePromql } from './promql.js';
import { hasTool, missingToolMessage, run } from './tools.js';

const HAVE_PROMTOOL = hasTool('promtool');
const dir = path.join(DEPLOY, 'prometheus');
const title = HAVE_PROMTOOL ? 'promtool' : missingToolMessage('promtool', 'prometheus');

describe.skipIf(!HAVE_PROMTOOL)(title, () => {
  it('checks the alert rules', () => {
    const r = run('promtool', ['check', 'rules', 'alerts.yml'], { cwd: dir });
    expect(r.stdout + r.stderr).toMatch(/SUCCESS: \d+ rules found/);
    expect(r.status).toBe(0);
  });

  it('passes the unit tests, which cover every alert', () => {
    const r = run('promtool', ['test', 'rules', 'alerts.test.yml'], { cwd: dir });
    expect(r.stdout + r.stderr).toContain('SUCCESS');
    expect(r.status).toBe(0);
    const tests = parse(fs.readFileSync(path.join(dir, 'alerts.test.yml'), 'utf8')) as {
      tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
    };
    const cases = tests.tests.flatMap((t) => t.alert_rule_test);
    for (const { where } of alertExpressions()) {
      const name = where.replace(/^alert /, '');
      const own = cases.filter((c) => c.alertname === name);
      expect(
        own.some((c) => c.exp_alerts.length > 0),
        `${name} is never shown firing`,
      ).toBe(true);
      expect(
        own.some((c) => c.exp_alerts.length === 0),
        `${name} is never shown silent`,
      ).toBe(true);
    }
  });

  it('fails a broken rule, so the checks above mean something', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'june-rules-'));
    try {
      fs.writeFileSync(
        path.join(tmp, 'bad.yml'),
        'groups:\n  - name: x\n    rules:\n      - alert: Broken\n        expr: sum by (capability (june_tasks_new)\n',
      );
      const r = run('promtool', ['check', 'rules', 'bad.yml'], { cwd: tmp });
      expect(r.status).not.toBe(0);
      expect(r.stdout + r.stderr).toMatch(/parse error/i);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('checks the scrape config of the compose profile', () => {
    // the config names the rule file by its path in the container; check it beside a copy of the rules
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'june-prom-'));
    try {
      fs.copyFileSync(path.join(dir, 'alerts.yml'), path.join(tmp, 'alerts.yml'));
      const config = fs
        .readFileSync(path.join(dir, 'prometheus.yml'), 'utf8')
        .replace('/etc/prometheus/alerts.yml', path.join(tmp, 'alerts.yml'));
      fs.writeFileSync(path.join(tmp, 'prometheus.yml'), config);
      const r = run('promtool', ['check', 'config', 'prometheus.yml'], { cwd: tmp });
      expect(r.stdout + r.stderr).toContain('SUCCESS');
      expect(r.status).toBe(0);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('the Grafana dashboard', () => {
  it('uses the provisioned Prometheus data source and readable PromQL in every panel', () => {
    const d = dashboard();
    expect(d.uid).toBe('june-overview');
    const ds = parse(
      fs.readFileSync(path.join(DEPLOY, 'grafana/provisioning/datasources/prometheus.yaml'), 'utf8'),
    );
    const uid = ds.datasources[0].uid;
    for (const p of d.panels.filter((x) => x.type !== 'row')) {
      expect((p as unknown as { datasource: { uid: string } }).datasource.uid, p.title).toBe(uid);
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
    }
    for (const e of dashboardExpressions())
      expect(parsePromql(e.expr).selectors.length, e.where).toBeGreaterThan(0);
  });

  it('covers voice stages, time to first audio, the LLM, queues, workers, errors and eval', () => {
    const metrics = new Set(
      dashboardExpressions().flatMap((e) => parsePromql(e.expr).selectors.map((s) => s.metric)),
    );
    for (const m of [
      'stt_transcription_duration_seconds_bucket',
      'llm_generation_duration_seconds_bucket',
      'tts_synthesis_duration_seconds_bucket',
      'voice_time_to_first_audio_seconds_bucket',
      'voice_messages_processed_total',
      'llm_time_to_first_token_seconds_bucket',
      'june_tasks_new',
      'june_tasks_active',
      'june_tasks_retrying',
      'june_tasks_dead',
      'june_tasks_wait_seconds_bucket',
      'june_workers',
      'errors_total',
      'june_circuit_open',
    ])
      expect(metrics.has(m), m).toBe(true);
  });
});
