/**
 * Loads the configuration: defaults < config file < environment (JUNE_*). Validation errors name the key
 * the user has to fix, in the form they wrote it (JUNE_LLM_BASE_URL or llmBaseUrl in june.config.json).
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../util/errors.js';
import { configKeys, configSchema, envNameFor, secretKeys, type JuneConfig } from './schema.js';

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** Explicit config file; default: $JUNE_CONFIG, else ./june.config.json if present. */
  file?: string;
  /** Values that win over everything (CLI flags). */
  overrides?: Record<string, unknown>;
}

export function loadConfig(options: LoadConfigOptions = {}): JuneConfig {
  const env = options.env ?? process.env;
  const raw: Record<string, unknown> = {};
  const origin: Record<string, string> = {};

  const file =
    options.file ?? env.JUNE_CONFIG ?? (fs.existsSync('june.config.json') ? 'june.config.json' : undefined);
  if (file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError(`JUNE_CONFIG (${file})`, `cannot read config file: ${(err as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new ConfigError(`JUNE_CONFIG (${file})`, 'the config file must hold a JSON object');
    for (const [k, v] of Object.entries(parsed)) {
      if (!configKeys.includes(k as keyof JuneConfig))
        throw new ConfigError(
          `${k} (in ${path.basename(file)})`,
          `unknown option; known options: ${configKeys.join(', ')}`,
        );
      raw[k] = v;
      origin[k] = `${k} (in ${path.basename(file)})`;
    }
  }

  const known = new Set(configKeys.map(envNameFor));
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('JUNE_') || name === 'JUNE_CONFIG' || value === undefined) continue;
    if (!known.has(name)) continue; // unknown JUNE_* variables are tolerated (other tools, future keys)
    const key = configKeys.find((k) => envNameFor(k) === name)!;
    if (value === '') continue; // an empty variable means "unset"
    raw[key] = value;
    origin[key] = name;
  }

  for (const [k, v] of Object.entries(options.overrides ?? {})) {
    if (v === undefined) continue;
    raw[k] = v;
    origin[k] = `--${k}`;
  }

  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const key = String(issue.path[0] ?? '');
    throw new ConfigError(origin[key] ?? envNameFor(key), issue.message);
  }
  return result.data;
}

/** The config with secrets replaced, for printing. */
export function redactConfig(config: JuneConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) {
    out[k] =
      secretKeys.has(k as keyof JuneConfig) && v ? '[redacted]' : k === 'redisUrl' ? redactUrl(String(v)) : v;
  }
  return out;
}

/** Removes the password from a URL (redis://:secret@host → redis://:[redacted]@host). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '[redacted]';
    return u.toString();
  } catch {
    return url;
  }
}
