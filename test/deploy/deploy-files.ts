/** The deploy/ files the tests read: paths, the alert rules and the dashboard's PromQL expressions. */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DEPLOY = path.join(ROOT, 'deploy');

export interface Expression {
  /** Where it comes from: "alert JuneQueueWaitHigh" or "panel Queue wait p50 / p95". */
  where: string;
  expr: string;
}

interface RuleFile {
  groups: Array<{ name: string; rules: Array<{ alert?: string; record?: string; expr: string }> }>;
}

export function alertExpressions(): Expression[] {
  const file = parse(fs.readFileSync(path.join(DEPLOY, 'prometheus/alerts.yml'), 'utf8')) as RuleFile;
  return file.groups.flatMap((g) =>
    g.rules.map((r) => ({ where: `alert ${r.alert ?? r.record}`, expr: String(r.expr) })),
  );
}

interface Panel {
  title: string;
  type: string;
  targets?: Array<{ expr: string }>;
  panels?: Panel[];
}

export function dashboard(): { uid: string; title: string; panels: Panel[] } {
  return JSON.parse(fs.readFileSync(path.join(DEPLOY, 'grafana/dashboards/june.json'), 'utf8'));
}

export function dashboardExpressions(): Expression[] {
  const walk = (panels: Panel[]): Expression[] =>
    panels.flatMap((p) => [
      ...(p.targets ?? []).map((t) => ({ where: `panel ${p.title}`, expr: t.expr })),
      ...walk(p.panels ?? []),
    ]);
  return walk(dashboard().panels);
}

/** Metrics that Prometheus itself makes (not June's): `up` of the vLLM scrape job. */
export const EXTERNAL_METRICS = new Set(['up']);
