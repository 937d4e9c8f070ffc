/**
 * deploy/kubernetes, validated against the Kubernetes and KEDA OpenAPI schemas (kubernetes-models and
 * @kubernetes-models/keda, which run here without a cluster): every manifest file as written, and the
 * base and overlays as kustomize renders them (with `kubectl kustomize`, skipped where kubectl is missing).
 */
import fs from 'node:fs';
import path from 'node:path';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { ConfigMap, Namespace, PersistentVolumeClaim, Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { DEPLOY } from './deploy-files.js';
import { hasTool, run } from './tools.js';

const K8S = path.join(DEPLOY, 'kubernetes');
const CAPABILITIES = ['voice', 'chat', 'code', 'eval'];

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
};

/** Schema errors of each manifest, as "Kind/name: message" (empty when all are valid). */
function schemaErrors(manifests: Manifest[]): string[] {
  const errors: string[] = [];
  for (const m of manifests) {
    const Model = MODELS[`${m.apiVersion}/${m.kind}`];
    if (!Model) {
      errors.push(`${m.kind}/${m.metadata?.name}: no schema for ${m.apiVersion} ${m.kind}`);
      continue;
    }
    try {
      new Model(m as never).validate();
    } catch (err) {
      errors.push(`${m.kind}/${m.metadata.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return errors;
}

function parseYaml(text: string, where: string): Manifest[] {
  return parseAllDocuments(text).flatMap((doc) => {
    if (doc.errors.length) throw new Error(`${where}: ${doc.errors[0]!.message}`);
    const value = doc.toJS() as Manifest | null;
    return value ? [value] : [];
  });
}

const yamlFiles = (dir: string): string[] =>
  fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => path.join(dir, f));

const manifestFiles = yamlFiles(K8S).filter((f) => path.basename(f) !== 'kustomization.yaml');
const base = manifestFiles
  .filter((f) => f.includes(`${path.sep}base${path.sep}`))
  .flatMap((f) => parseYaml(fs.readFileSync(f, 'utf8'), f));
const find = (ms: Manifest[], kind: string, name: string) =>
  ms.find((m) => m.kind === kind && m.metadata.name === name) as any; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('the Kubernetes manifests as written', () => {
  it('are valid against the Kubernetes and KEDA schemas', () => {
    const all = manifestFiles.flatMap((f) => parseYaml(fs.readFileSync(f, 'utf8'), f));
    expect(all.length).toBeGreaterThan(15);
    expect(schemaErrors(all)).toEqual([]);
  });

  it('are all listed by their kustomization, which lists only files that exist', () => {
    for (const k of yamlFiles(K8S).filter((f) => path.basename(f) === 'kustomization.yaml')) {
      const { resources = [] } = parseYaml(fs.readFileSync(k, 'utf8'), k)[0] as { resources?: string[] };
      const dir = path.dirname(k);
      for (const r of resources) expect(fs.existsSync(path.join(dir, r)), `${k}: ${r}`).toBe(true);
      for (const f of manifestFiles.filter((x) => path.dirname(x) === dir))
        expect(resources, `${f} is not in ${k}`).toContain(path.basename(f));
    }
  });

  it('run one worker deployment per capability, each draining before it is killed', () => {
    for (const cap of CAPABILITIES) {
      const d = find(base, 'Deployment', `june-worker-${cap}`);
      expect(d, cap).toBeDefined();
      const pod = d.spec.template.spec;
      const args: string[] = pod.containers[0].args;
      expect(args.slice(0, 3)).toEqual(['worker', '--capabilities', cap]);
      const drain = Number(args[args.indexOf('--drain-timeout') + 1]);
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(drain);
      expect(pod.securityContext.runAsNonRoot).toBe(true);
    }
    const web = find(base, 'Deployment', 'june-web');
    expect(web.spec.template.spec.containers[0].args).toEqual(['start', '--no-workers']);
    expect(find(base, 'ConfigMap', 'june-config').data).toMatchObject({
      JUNE_QUEUE: 'bullmq',
      JUNE_REDIS_URL: 'redis://redis:6379',
    });
  });

  it('scale each worker on its own queue: new plus in-flight tasks; retrying ones only keep one pod', () => {
    for (const cap of CAPABILITIES) {
      const so = find(base, 'ScaledObject', `june-worker-${cap}`);
      expect(so.spec.scaleTargetRef.name).toBe(`june-worker-${cap}`);
      const [trigger] = so.spec.triggers;
      expect(trigger.type).toBe('prometheus');
      const query: string = trigger.metadata.query;
      expect(query).toContain(`june_tasks_new{capability="${cap}"}`);
      expect(query).toContain(`june_tasks_active{capability="${cap}"}`);
      expect(query).not.toMatch(/retrying|dead/);
      expect(query.match(/capability="(\w+)"/g)?.every((m) => m === `capability="${cap}"`)).toBe(true);
      // one pod per --concurrency tasks
      const args: string[] = find(base, 'Deployment', `june-worker-${cap}`).spec.template.spec.containers[0]
        .args;
      expect(trigger.metadata.threshold).toBe(args[args.indexOf('--concurrency') + 1]);
      const toZero = ['code', 'eval'].includes(cap);
      expect(so.spec.minReplicaCount, cap).toBe(toZero ? 0 : 1);
      // scaled to zero, retrying tasks get one pod (the HPA takes the larger of the triggers), never more
      expect(so.spec.triggers.length).toBe(toZero ? 2 : 1);
      if (toZero)
        expect(so.spec.triggers[1].metadata).toMatchObject({
          query: `clamp_max(max(june_tasks_retrying{capability="${cap}"}) or vector(0), 1)`,
          threshold: '1',
        });
    }
  });

  it('would report a manifest that breaks the schema', () => {
    const broken = structuredClone(find(base, 'ScaledObject', 'june-worker-code')) as Manifest & {
      spec: { minReplicaCount: unknown };
    };
    broken.spec.minReplicaCount = 'zero';
    const [error] = schemaErrors([broken, { apiVersion: 'v9', kind: 'Thing', metadata: { name: 'x' } }]);
    expect(error).toMatch(/^ScaledObject\/june-worker-code: .*minReplicaCount must be integer/);
    expect(schemaErrors([{ apiVersion: 'v9', kind: 'Thing', metadata: { name: 'x' } }])).toEqual([
      'Thing/x: no schema for v9 Thing',
    ]);
  });
});

const HAVE_KUBECTL = hasTool('kubectl');
const title = HAVE_KUBECTL
  ? 'the kustomize renderings'
  : 'the kustomize renderings (kubectl is not installed: skipped; the files are still checked above)';

describe.skipIf(!HAVE_KUBECTL)(title, () => {
  const render = (dir: string): Manifest[] => {
    const r = run('kubectl', ['kustomize', path.join(K8S, dir)]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    return parseYaml(r.stdout, dir);
  };

  it('render the base into valid objects in the june namespace', () => {
    const ms = render('base');
    expect(schemaErrors(ms)).toEqual([]);
    for (const m of ms.filter((x) => x.kind !== 'Namespace'))
      expect((m.metadata as { namespace?: string }).namespace, m.metadata.name).toBe('june');
    expect(ms.every((m) => m.metadata.labels?.['app.kubernetes.io/part-of'] === 'june')).toBe(true);
  });

  it('add vLLM on a GPU node pool with the parsers June needs', () => {
    const ms = render('overlays/gpu-vllm');
    expect(schemaErrors(ms)).toEqual([]);
    const vllm = find(ms, 'Deployment', 'vllm').spec.template.spec;
    expect(vllm.containers[0].resources.limits['nvidia.com/gpu']).toBe(1);
    expect(vllm.nodeSelector).toEqual({ 'nvidia.com/gpu.present': 'true' });
    expect(vllm.containers[0].args.join(' ')).toContain(
      '--reasoning-parser deepseek_r1 --enable-auto-tool-choice --tool-call-parser hermes',
    );
    expect(find(ms, 'Service', 'vllm')).toBeDefined();
  });

  it('drop the bundled Redis for an external one', () => {
    const ms = render('overlays/external-redis');
    expect(schemaErrors(ms)).toEqual([]);
    expect(ms.filter((m) => m.metadata.name === 'redis')).toEqual([]);
    expect(ms.filter((m) => m.kind === 'Deployment')).toHaveLength(5);
  });
});
