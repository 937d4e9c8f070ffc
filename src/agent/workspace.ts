/**
 * One run's place on disk, under the data directory: `agent/runs/<id>/` holds `workspace/` (what the
 * agent and its commands see), `snapshots.git` (a git directory outside the workspace, so nothing the
 * agent runs can rewrite its own history), `trajectory.jsonl` and `run.json`.
 *
 * A user's project is never worked on in place: it must lie inside a directory of the allow-list
 * (JUNE_AGENT_PROJECTS), is copied into the workspace (without .git and node_modules), and the change comes
 * back as a patch that `june code apply RUN` applies.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { JuneError } from '../util/errors.js';

export interface RunDir {
  id: string;
  dir: string;
  workspace: string;
  gitDir: string;
  trajectory: string;
  /** The user's project this run copied, if any (absolute, real path). */
  project?: string;
}

export interface RunInfo {
  id: string;
  task: string;
  project?: string;
  createdAt: string;
  status?: string;
}

const SKIP = new Set(['.git', 'node_modules']);

export class AgentInputError extends JuneError {
  constructor(message: string) {
    super(message, { code: 'agent_bad_input', retryable: false, userMessage: message });
  }
}

export function runsRoot(dataDir: string): string {
  return path.join(dataDir, 'agent', 'runs');
}

export async function createRunDir(
  dataDir: string,
  task: string,
  options: { project?: string; allowedProjects?: readonly string[] } = {},
): Promise<RunDir> {
  const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const id = `${stamp}-${randomBytes(3).toString('hex')}`;
  const dir = path.join(runsRoot(dataDir), id);
  const run: RunDir = {
    id,
    dir,
    workspace: path.join(dir, 'workspace'),
    gitDir: path.join(dir, 'snapshots.git'),
    trajectory: path.join(dir, 'trajectory.jsonl'),
  };
  let project: string | undefined;
  if (options.project) project = allowedProject(options.project, options.allowedProjects ?? []);
  fs.mkdirSync(run.workspace, { recursive: true, mode: 0o755 });
  if (project) {
    run.project = project;
    await fs.promises.cp(project, run.workspace, {
      recursive: true,
      verbatimSymlinks: true,
      filter: (src) => !SKIP.has(path.basename(src)) || src === project,
    });
  }
  await git(run, ['init', '--quiet']);
  fs.writeFileSync(path.join(run.gitDir, 'info', 'exclude'), '.git\nnode_modules\n');
  await snapshot(run, 0, true);
  const info: RunInfo = { id, task, createdAt: new Date().toISOString(), ...(project ? { project } : {}) };
  fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify(info, null, 2));
  return run;
}

/** The real path of `project`, when it lies inside an allow-listed directory; a clear error otherwise. */
export function allowedProject(project: string, allowed: readonly string[]): string {
  let real: string;
  try {
    real = fs.realpathSync(project);
  } catch {
    throw new AgentInputError(`the project directory ${project} does not exist`);
  }
  if (!fs.statSync(real).isDirectory()) throw new AgentInputError(`${project} is not a directory`);
  const ok = allowed.some((a) => {
    const root = fs.existsSync(a) ? fs.realpathSync(a) : path.resolve(a);
    return real === root || real.startsWith(root + path.sep);
  });
  if (!ok)
    throw new AgentInputError(
      `${project} is not in the list of projects June may work on; add it (or a parent) to JUNE_AGENT_PROJECTS`,
    );
  return real;
}

export function openRunDir(dataDir: string, id: string): RunDir & { info: RunInfo } {
  if (!/^[\w-]+$/.test(id)) throw new AgentInputError(`"${id}" is not a run id`);
  const dir = path.join(runsRoot(dataDir), id);
  if (!fs.existsSync(path.join(dir, 'run.json')))
    throw new AgentInputError(`no run ${id} in ${runsRoot(dataDir)}`);
  const info = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as RunInfo;
  return {
    id,
    dir,
    workspace: path.join(dir, 'workspace'),
    gitDir: path.join(dir, 'snapshots.git'),
    trajectory: path.join(dir, 'trajectory.jsonl'),
    ...(info.project ? { project: info.project } : {}),
    info,
  };
}

export function updateRunInfo(run: RunDir, patch: Partial<RunInfo>): void {
  const file = path.join(run.dir, 'run.json');
  const info = JSON.parse(fs.readFileSync(file, 'utf8')) as RunInfo;
  fs.writeFileSync(file, JSON.stringify({ ...info, ...patch }, null, 2));
}

const fingerprints = new Map<string, string>();

/**
 * Sizes, modes and change times of every entry, without reading contents: a cheap test of "did this
 * step change anything?" that spares the two git processes of a snapshot after a command that only read.
 */
export function workspaceFingerprint(workspace: string): string {
  const hash = createHash('sha1');
  const stack = [workspace];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names.sort()) {
      if (SKIP.has(name)) continue;
      const p = path.join(dir, name);
      const st = fs.lstatSync(p, { throwIfNoEntry: false, bigint: true });
      if (!st) continue;
      hash.update(`${p}\0${st.mode}\0${st.size}\0${st.mtimeNs}\0${st.ctimeNs}\0${st.ino}\n`);
      if (st.isDirectory()) stack.push(p);
    }
  }
  return hash.digest('hex');
}

/** Forgets a finished run's fingerprint. */
export function releaseRun(run: RunDir): void {
  fingerprints.delete(run.dir);
}

/** Commits the workspace as "step N" when it changed (or always, for step 0); returns the commit id. */
export async function snapshot(run: RunDir, step: number, always = false): Promise<string | undefined> {
  const print = workspaceFingerprint(run.workspace);
  if (!always && fingerprints.get(run.dir) === print) return undefined;
  fingerprints.set(run.dir, print);
  await git(run, ['add', '--all']);
  if (!always) {
    const changed = await git(run, ['diff', '--cached', '--quiet'], [0, 1]);
    if (changed.code === 0) return undefined;
  }
  await git(run, ['commit', '--quiet', '--allow-empty', '--no-verify', '-m', `step ${step}`]);
  return (await git(run, ['rev-parse', 'HEAD'])).stdout.trim();
}

/** Snapshot commits by step, oldest first. */
export async function snapshots(run: RunDir): Promise<{ step: number; commit: string }[]> {
  const log = await git(run, ['log', '--reverse', '--format=%H %s']);
  return log.stdout
    .split('\n')
    .map((l) => /^([0-9a-f]+) step (\d+)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ step: Number(m[2]), commit: m[1]! }));
}

/** The diff of the whole run, or of one step (against the snapshot before it). */
export async function runDiff(run: RunDir, step?: number): Promise<string> {
  const all = await snapshots(run);
  if (all.length === 0) return '';
  if (step === undefined)
    return (await git(run, ['diff', '--binary', all[0]!.commit, all.at(-1)!.commit])).stdout;
  const i = all.findIndex((s) => s.step === step);
  if (i === -1)
    throw new AgentInputError(
      `step ${step} changed no files; steps with snapshots: ${all.map((s) => s.step).join(', ')}`,
    );
  if (i === 0) return '';
  return (await git(run, ['diff', '--binary', all[i - 1]!.commit, all[i]!.commit])).stdout;
}

/** Applies the run's patch to the project it copied; refuses when it does not apply cleanly. */
export async function applyRun(run: RunDir): Promise<{ project: string; files: string[] }> {
  if (!run.project)
    throw new AgentInputError(
      `run ${run.id} worked in a fresh workspace: there is no project to apply it to (see ${run.workspace})`,
    );
  const patch = await runDiff(run);
  if (patch.trim() === '') return { project: run.project, files: [] };
  const patchFile = path.join(run.dir, 'run.patch');
  fs.writeFileSync(patchFile, patch);
  const check = await exec('git', ['apply', '--check', patchFile], run.project, [0, 1, 128]);
  if (check.code !== 0)
    throw new AgentInputError(`the patch no longer applies to ${run.project}: ${check.stderr.trim()}`);
  await exec('git', ['apply', patchFile], run.project);
  const stat = await exec('git', ['apply', '--numstat', patchFile], run.project);
  return {
    project: run.project,
    files: stat.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t')[2] ?? l),
  };
}

function git(run: RunDir, args: string[], okCodes = [0]) {
  return exec(
    'git',
    [
      `--git-dir=${run.gitDir}`,
      `--work-tree=${run.workspace}`,
      '-c',
      'user.name=June',
      '-c',
      'user.email=june@localhost',
      '-c',
      'commit.gpgsign=false',
      ...args,
    ],
    run.workspace,
    okCodes,
  );
}

function exec(
  bin: string,
  args: string[],
  cwd: string,
  okCodes = [0],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      bin,
      args,
      {
        cwd,
        maxBuffer: 256 * 1024 * 1024,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, GIT_CONFIG_NOSYSTEM: '1' },
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        if (!okCodes.includes(code))
          return reject(
            new Error(`${bin} ${args.slice(-3).join(' ')} failed: ${stderr.trim() || err?.message}`),
          );
        resolve({ code, stdout, stderr });
      },
    );
  });
}
