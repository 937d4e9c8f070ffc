/**
 * /openapi.json, generated from the route declarations and their zod schemas (z.toJSONSchema), so the
 * document describes exactly what the server validates and returns.
 */
import { z } from 'zod';
import type { AnyRoute } from './api-route.js';
import { ErrorResponse } from './schemas.js';

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const out = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  delete out.$schema; // the document's dialect (2020-12, the OpenAPI 3.1 default) applies
  return out;
}

/** Path and query parameters: one entry per property of the object schema. */
function parameters(schema: z.ZodType | undefined, where: 'path' | 'query'): JsonSchema[] {
  if (!schema) return [];
  const s = jsonSchema(schema, 'input');
  const props = (s.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((s.required as string[] | undefined) ?? []);
  return Object.entries(props).map(([name, p]) => {
    const { description, ...rest } = p;
    return {
      name,
      in: where,
      required: where === 'path' || required.has(name),
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
}

const openApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

const AUTH_NOTE: Record<AnyRoute['auth'], string> = {
  none: 'No token needed.',
  user: 'Any API token.',
  admin: 'An admin token (admin: prefix).',
};

export function buildOpenApi(routes: readonly AnyRoute[], info: { version: string }): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const responses: Record<string, unknown> = {};
    for (const [status, doc] of Object.entries(r.responses)) {
      responses[status] = {
        description: doc.description,
        ...(doc.schema || doc.contentType
          ? {
              content: {
                [doc.contentType ?? 'application/json']: doc.schema
                  ? { schema: jsonSchema(doc.schema, 'output') }
                  : {},
              },
            }
          : {}),
      };
    }
    // every authenticated route can answer these; document them once per route
    if (r.auth !== 'none') {
      responses['401'] ??= { description: 'Missing or invalid token (bad_token)' };
      if (r.auth === 'admin') responses['403'] ??= { description: 'Not an admin token (forbidden)' };
    }
    for (const [status, v] of Object.entries(responses)) {
      if (Number(status) >= 400 && !(v as JsonSchema).content) {
        (v as JsonSchema).content = { 'application/json': { schema: jsonSchema(ErrorResponse, 'output') } };
      }
    }
    const bodies = r.body ? [{ contentType: 'application/json', schema: r.body }] : (r.requestBodies ?? []);
    const operation = {
      operationId: `${r.method.toLowerCase()}${r.url.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
      summary: r.summary,
      description: [r.description, AUTH_NOTE[r.auth]].filter(Boolean).join('\n\n'),
      tags: [r.tag],
      ...(r.auth === 'none' ? { security: [] } : {}),
      parameters: [...parameters(r.params, 'path'), ...parameters(r.query, 'query')],
      ...(bodies.length
        ? {
            requestBody: {
              required: true,
              content: Object.fromEntries(
                bodies.map((b) => [b.contentType, { schema: jsonSchema(b.schema, 'input') }]),
              ),
            },
          }
        : {}),
      responses,
    };
    (paths[openApiPath(r.url)] ??= {})[r.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'June HTTP API',
      version: info.version,
      description: 'Talk to June by text or voice, follow tasks live, and administer the task queue.',
    },
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'A token from JUNE_API_TOKENS; tokens with the admin: prefix have admin scope.',
        },
      },
    },
    security: [{ bearer: [] }],
    paths,
  };
}
