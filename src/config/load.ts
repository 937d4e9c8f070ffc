/**
 * Loads the configuration: defaults < config file < environment (JUNE_*). Validation errors name the key
 * the user has to fix, in the form they wrote it (JUNE_LLM_BASE_URL or llmBaseUrl in june.config.json).
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../util/errors.js';
import { REDACTED, registerSecrets, urlCredentials } from '../util/redact.js';
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
  const config = result.data;
  refuseHttpUserinfo(config, (k) => origin[k] ?? envNameFor(k));
  registerSecrets(configSecrets(config));
  return config;
}

/**
 * http(s) URLs with `user:pass@` are refused: the HTTP clients would send neither Basic auth nor the key,
 * and the password would travel in every error message that quotes the URL. Keys have their own options.
 * (redis:// URLs keep their password: ioredis sends it, and it is scrubbed like every secret.)
 */
function refuseHttpUserinfo(config: JuneConfig, name: (key: string) => string): void {
  for (const [k, v] of Object.entries(config)) {
    if (typeof v !== 'string' || !/^https?:\/\//i.test(v)) continue;
    let url: URL;
    try {
      url = new URL(v);
    } catch {
      continue;
    }
    if (url.username || url.password) {
      const apiKey = k.replace(/BaseUrl$/, 'ApiKey');
      const hint = configKeys.includes(apiKey as keyof JuneConfig)
        ? ` Put the key in ${envNameFor(apiKey)} instead.`
        : '';
      throw new ConfigError(
        name(k),
        `a user name or password in the URL (${redactUrl(v)}) is not supported.${hint}`,
      );
    }
  }
}

/** The values to scrub from every error and log line: secret options and URL passwords. */
function configSecrets(config: JuneConfig): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(config)) {
    if (secretKeys.has(k as keyof JuneConfig)) {
      for (const s of Array.isArray(v) ? (v as string[]) : [v as string | undefined]) {
        if (!s) continue;
        out.push(s);
        // API tokens are configured as admin:<token>; the token alone is what travels
        if (s.startsWith('admin:')) out.push(s.slice('admin:'.length));
      }
    } else if (typeof v === 'string') out.push(...urlCredentials(v));
  }
  return out;
}

/** The config with secrets replaced, for printing. */
export function redactConfig(config: JuneConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) {
    out[k] = secretKeys.has(k as keyof JuneConfig) && v ? REDACTED : typeof v === 'string' ? redactUrl(v) : v;
  }
  return out;
}

/**
 * Removes the password from a URL (redis://:secret@host → redis://:[redacted]@host), or a lone user name,
 * which is how tokens are put in URLs. Other text is returned unchanged.
 */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^/?#@\s]*)@/i, (_, scheme: string, info: string) => {
    const colon = info.indexOf(':');
    return colon >= 0 ? `${scheme}${info.slice(0, colon)}:${REDACTED}@` : `${scheme}${REDACTED}@`;
  });
}
