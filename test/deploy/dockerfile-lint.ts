/**
 * A Dockerfile linter with the rules this project holds its image to (no Docker engine runs here, so the
 * image cannot be built in CI; these rules catch what would make it wrong, big or unsafe):
 * - base images pinned to a tag, never latest;
 * - apt-get update and install in one RUN, with --no-install-recommends, and the lists removed there;
 * - no ADD (COPY only), no sudo, no curl | sh;
 * - the last stage has a non-root USER, a HEALTHCHECK, the volumes, and an exec-form ENTRYPOINT;
 * - every COPY from the build context names a path that exists and that .dockerignore does not drop.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface Instruction {
  line: number;
  keyword: string;
  args: string;
}

export interface Stage {
  name: string | undefined;
  from: string;
  instructions: Instruction[];
}

/** Instructions with their continuation lines joined; comments and blank lines dropped. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const first = lines[i]!;
    if (/^\s*(#|$)/.test(first)) continue;
    const line = i + 1;
    let joined = first;
    while (/\\\s*$/.test(joined) && i + 1 < lines.length) {
      const next = lines[++i]!;
      if (/^\s*#/.test(next)) continue; // a comment inside a continued instruction is dropped
      joined = joined.replace(/\\\s*$/, ' ') + next;
    }
    const m = /^\s*([A-Za-z]+)\s+([\s\S]*)$/.exec(joined);
    if (!m) throw new Error(`Dockerfile line ${line}: not an instruction: ${first}`);
    out.push({ line, keyword: m[1]!.toUpperCase(), args: m[2]!.trim().replace(/\s+/g, ' ') });
  }
  return out;
}

export function stages(instructions: Instruction[]): Stage[] {
  const out: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`Dockerfile line ${ins.line}: cannot read FROM ${ins.args}`);
      out.push({ from: m[1]!, name: m[2], instructions: [] });
    } else out.at(-1)?.instructions.push(ins);
  }
  return out;
}

/** .dockerignore patterns (the simple forms used here: names, dir/, globs with * and **). */
export function ignored(relPath: string, patterns: string[]): boolean {
  let result = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const p = (negate ? raw.slice(1) : raw).replace(/\/$/, '');
    const re = new RegExp(
      `^${p
        .split('**/')
        .map((part) => part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*'))
        .join('(?:.*/)?')}(?:/.*)?$`,
    );
    if (re.test(relPath)) result = !negate;
  }
  return result;
}

export function lintDockerfile(text: string, contextDir: string, dockerignore = ''): string[] {
  const problems: string[] = [];
  const all = parseDockerfile(text);
  const args = new Map<string, string>();
  for (const ins of all) {
    if (ins.keyword !== 'ARG') continue;
    const [k, v] = ins.args.split('=');
    if (k && v) args.set(k, v);
  }
  const expand = (s: string) => s.replace(/\$\{(\w+)\}|\$(\w+)/g, (_m, a, b) => args.get(a ?? b) ?? _m);
  const st = stages(all);
  if (st.length < 2) problems.push('not multi-stage: build tools must stay in a builder stage');
  const names = new Set(st.map((s) => s.name).filter(Boolean));
  for (const s of st) {
    const image = expand(s.from);
    if (names.has(image)) continue;
    const tag = /^[^@]+@sha256:/.test(image) ? 'digest' : image.split('/').at(-1)!.split(':')[1];
    if (!tag || tag === 'latest') problems.push(`FROM ${s.from}: pin the base image to a tag`);
  }
  const patterns = dockerignore
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  for (const ins of all) {
    const where = `line ${ins.line} (${ins.keyword})`;
    if (ins.keyword === 'ADD') problems.push(`${where}: use COPY; ADD fetches URLs and unpacks archives`);
    if (ins.keyword === 'MAINTAINER') problems.push(`${where}: MAINTAINER is deprecated`);
    if (ins.keyword === 'RUN') {
      const cmd = ins.args;
      if (/\bsudo\b/.test(cmd)) problems.push(`${where}: no sudo in a build`);
      if (/\b(curl|wget)\b[^|]*\|\s*(ba)?sh\b/.test(cmd))
        problems.push(`${where}: no piping downloads into a shell`);
      if (/apt-get\s+(-\S+\s+)*install/.test(cmd)) {
        if (!/apt-get\s+update/.test(cmd))
          problems.push(`${where}: apt-get update in the same RUN as install`);
        if (!/--no-install-recommends/.test(cmd))
          problems.push(`${where}: apt-get install --no-install-recommends`);
        if (!/\s-y\b|--yes|--assume-yes/.test(cmd)) problems.push(`${where}: apt-get install -y`);
        if (!/rm -rf \/var\/lib\/apt\/lists/.test(cmd))
          problems.push(`${where}: remove /var/lib/apt/lists in the same RUN`);
      }
      if (/apt-get\s+upgrade|dist-upgrade/.test(cmd))
        problems.push(`${where}: no apt-get upgrade in an image`);
    }
    if (ins.keyword === 'COPY' && !/--from=/.test(ins.args)) {
      const parts = ins.args.split(' ').filter((p) => !p.startsWith('--'));
      for (const src of parts.slice(0, -1)) {
        const rel = path.normalize(src).replace(/^\.\/?/, '') || '.';
        if (!fs.existsSync(path.join(contextDir, rel))) problems.push(`${where}: ${src} does not exist`);
        else if (rel !== '.' && ignored(rel, patterns)) problems.push(`${where}: ${src} is in .dockerignore`);
      }
    }
    if (ins.keyword === 'WORKDIR' && !ins.args.startsWith('/'))
      problems.push(`${where}: WORKDIR must be absolute`);
  }
  const last = st.at(-1)?.instructions ?? [];
  const lastOf = (k: string) => last.filter((i) => i.keyword === k).at(-1);
  const user = lastOf('USER');
  if (!user || /^(root|0)(:|$)/.test(user.args)) problems.push('the final stage must run as a non-root USER');
  if (!lastOf('HEALTHCHECK')) problems.push('the final stage needs a HEALTHCHECK');
  if (!lastOf('VOLUME')) problems.push('the final stage declares no VOLUME');
  const entry = lastOf('ENTRYPOINT');
  if (!entry || !entry.args.startsWith('[')) problems.push('ENTRYPOINT must be in exec form (a JSON array)');
  const cmd = lastOf('CMD');
  if (cmd && !cmd.args.startsWith('[')) problems.push('CMD must be in exec form (a JSON array)');
  return problems;
}
