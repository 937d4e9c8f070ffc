/**
 * `june doctor`: checks everything June needs and prints the fix for each problem.
 * Exit code 1 when a check that the current configuration depends on fails.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import type { Command } from 'commander';
import { checkChromium } from '../../browse/chromium.js';
import type { JuneConfig } from '../../config/schema.js';
import { isModelCached, modelPath } from '../../models/manager.js';
import { DEFAULT_LLM_MODEL_ID } from '../../models/registry.js';
import { resolveLlmKind, resolveSttKind, ttsVoiceStatus } from '../../providers/factory.js';
import { checkSandbox } from '../../sandbox/factory.js';
import { cliContext } from '../context.js';

interface Check {
  name: string;
  ok: boolean;
  /** Only a warning: June works without it in the current configuration. */
  optional?: boolean;
  detail: string;
  fix?: string;
}

function version(cmd: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 5000 }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') return resolve(undefined);
      const first =
        (stdout || stderr)
          .split('\n')
          .find((l) => l.trim())
          ?.trim() ?? '';
      // some programs (pocketsphinx) answer every flag with a usage error: being there is what counts
      resolve(!first || /error|usage|unknown/i.test(first) ? `${cmd} installed` : first);
    });
  });
}

async function binaryCheck(
  name: string,
  cmd: string,
  args: string[],
  pkg: string,
  optional = false,
): Promise<Check> {
  const v = await version(cmd, args);
  return v
    ? { name, ok: true, detail: v.slice(0, 80) }
    : {
        name,
        ok: false,
        optional,
        detail: `${cmd} not found`,
        fix: `run scripts/setup.sh (or: sudo apt-get install -y ${pkg})`,
      };
}

async function reachable(url: string, apiKey?: string): Promise<string | undefined> {
  try {
    const res = await fetch(url.replace(/\/$/, '') + '/models', {
      headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
      signal: AbortSignal.timeout(5000),
    });
    return res.status < 500 ? undefined : `HTTP ${res.status}`;
  } catch (err) {
    const cause = (err as { cause?: { code?: string; errors?: Array<{ code?: string }> } }).cause;
    return (
      cause?.code ??
      cause?.errors?.[0]?.code ??
      (cause as Error | undefined)?.message ??
      (err as Error).message
    );
  }
}

async function writableDirCheck(name: string, dir: string, envVar: string): Promise<Check> {
  try {
    await fs.mkdir(dir, { recursive: true });
    await fs.access(dir, fs.constants.W_OK);
    return { name, ok: true, detail: dir };
  } catch (err) {
    return {
      name,
      ok: false,
      detail: `${dir}: ${(err as Error).message}`,
      fix: `set ${envVar} to a writable directory`,
    };
  }
}

export async function runChecks(config: JuneConfig): Promise<Check[]> {
  const sttKind = resolveSttKind(config);
  const llmKind = resolveLlmKind(config);
  const checks: Check[] = [];
  const major = Number(process.versions.node.split('.')[0]);
  checks.push(
    major >= 20
      ? { name: 'node', ok: true, detail: process.version }
      : { name: 'node', ok: false, detail: process.version, fix: 'install Node.js 20 or newer' },
  );
  checks.push(await binaryCheck('ffmpeg', 'ffmpeg', ['-version'], 'ffmpeg'));
  checks.push(await binaryCheck('ffprobe', 'ffprobe', ['-version'], 'ffmpeg'));
  checks.push(
    await binaryCheck(
      'espeak-ng',
      'espeak-ng',
      ['--version'],
      'espeak-ng',
      config.tts === 'openai' || config.tts === 'sherpa',
    ),
  );
  const voice = await ttsVoiceStatus(config);
  if (voice) checks.push({ name: `tts (${config.tts})`, optional: config.tts === 'auto', ...voice });
  const ps = await binaryCheck(
    'pocketsphinx',
    'pocketsphinx_continuous',
    ['-h'],
    'pocketsphinx pocketsphinx-en-us',
    sttKind !== 'pocketsphinx',
  );
  checks.push(ps);
  checks.push(
    await binaryCheck(
      'redis-server',
      'redis-server',
      ['--version'],
      'redis-server',
      config.queue !== 'bullmq',
    ),
  );

  checks.push(await writableDirCheck('models dir', config.modelsDir, 'JUNE_MODELS_DIR'));
  checks.push(await writableDirCheck('data dir', config.dataDir, 'JUNE_DATA_DIR'));
  const sandbox = await checkSandbox(config.sandbox);
  checks.push({
    name: `sandbox (${config.sandbox})`,
    ok: sandbox.ok && !sandbox.warning,
    optional: true,
    detail: sandbox.warning ? `WARNING: ${sandbox.warning}` : sandbox.detail,
    fix: sandbox.warning
      ? 'install bubblewrap (scripts/setup.sh) and set JUNE_SANDBOX=bubblewrap'
      : 'run scripts/setup.sh (bubblewrap), or set JUNE_SANDBOX=docker where a Docker engine runs',
  });

  const chromium = await checkChromium(config.browseChromiumPath);
  const servesBrowse = config.workerCapabilities.includes('browse') && config.browse !== 'off';
  checks.push({
    name: 'chromium (browse)',
    ok: chromium.ok,
    optional: !(servesBrowse && config.browse === 'on'),
    detail: chromium.ok
      ? `${chromium.detail}${servesBrowse ? '' : '; browse is not served (JUNE_WORKER_CAPABILITIES)'}${config.searxngUrl ? '' : '; no web search (JUNE_SEARXNG_URL unset)'}`
      : `${chromium.detail}: the browse capability is not served`,
    fix: 'sudo apt-get install -y chromium, or set JUNE_BROWSE_CHROMIUM_PATH',
  });
  const { sttStatus, vadStatus } = await import('../../providers/stt/stt-status.js');
  checks.push({ name: `stt (${sttKind})`, ...sttStatus(config, sttKind) });
  checks.push({ name: `vad (${config.vad})`, ...vadStatus(config) });
  if (sttKind === 'openai' && config.sttBaseUrl) {
    const err = await reachable(config.sttBaseUrl, config.sttApiKey);
    checks.push({
      name: 'stt server',
      ok: !err,
      detail: err ? `${config.sttBaseUrl}: ${err}` : config.sttBaseUrl,
      fix: 'start the speech server or fix JUNE_STT_BASE_URL',
    });
  }
  if (config.tts === 'openai' && config.ttsBaseUrl) {
    const err = await reachable(config.ttsBaseUrl, config.ttsApiKey);
    checks.push({
      name: 'tts server',
      ok: !err,
      detail: err ? `${config.ttsBaseUrl}: ${err}` : config.ttsBaseUrl,
      fix: 'start the speech server or fix JUNE_TTS_BASE_URL',
    });
  }

  if (llmKind === 'openai' && config.llmBaseUrl) {
    const err = await reachable(config.llmBaseUrl, config.llmApiKey);
    checks.push({
      name: 'llm server',
      ok: !err,
      detail: err ? `${config.llmBaseUrl}: ${err}` : `${config.llmBaseUrl} (${config.llmModel})`,
      fix: 'start your OpenAI-compatible server (e.g. vllm serve …) or fix JUNE_LLM_BASE_URL',
    });
  } else {
    const id = config.llmModelPath ?? DEFAULT_LLM_MODEL_ID;
    const present = config.llmModelPath
      ? await fs.access(config.llmModelPath).then(
          () => true,
          () => false,
        )
      : isModelCached(config, DEFAULT_LLM_MODEL_ID);
    checks.push({
      name: 'llm (embedded llama)',
      ok: present || !config.offline,
      optional: !config.offline,
      detail: present
        ? `model ready: ${config.llmModelPath ?? modelPath(config, id)}`
        : `model ${id} not downloaded yet (downloads on first use)`,
      ...(present
        ? {}
        : {
            fix: config.llmModelPath ? 'fix JUNE_LLM_MODEL_PATH' : `june models pull ${DEFAULT_LLM_MODEL_ID}`,
          }),
    });
  }
  return checks;
}

export function register(program: Command): void {
  program
    .command('doctor')
    .description('Check binaries, models and servers, and print the fix for each problem')
    .option('--json', 'as JSON')
    .action(async (opts: { json?: boolean }) => {
      const { config } = cliContext();
      const checks = await runChecks(config);
      const failed = checks.filter((c) => !c.ok && !c.optional);
      if (opts.json)
        process.stdout.write(JSON.stringify({ ok: failed.length === 0, checks }, null, 2) + '\n');
      else {
        for (const c of checks) {
          const mark = c.ok ? 'ok  ' : c.optional ? 'warn' : 'FAIL';
          process.stdout.write(`${mark}  ${c.name.padEnd(22)} ${c.detail}\n`);
          if ((!c.ok || c.detail.includes('not downloaded')) && c.fix)
            process.stdout.write(`      fix: ${c.fix}\n`);
        }
        process.stdout.write(failed.length ? `\n${failed.length} problem(s) found\n` : '\nall good\n');
      }
      if (failed.length) process.exitCode = 1;
    });
}
