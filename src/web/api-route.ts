/**
 * One declaration per API route: its schemas (which validate the request), its auth level, its documented
 * responses, and the handler. The same list registers the Fastify routes and generates /openapi.json.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { requireAdmin, type Authenticator, type Caller } from './auth.js';
import { ApiError } from './errors.js';

/**
 * none: open to anyone (a valid token still names the caller, for answers with more detail to admins);
 * user: any valid token; admin: an admin: token.
 */
export type AuthLevel = 'none' | 'user' | 'admin';

export interface ResponseDoc {
  description: string;
  schema?: z.ZodType;
  /** Default application/json. */
  contentType?: string;
}

export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  caller: Caller;
  req: FastifyRequest;
  reply: FastifyReply;
}

export interface ApiRoute<P = unknown, Q = unknown, B = unknown> {
  method: 'GET' | 'POST';
  /** Fastify syntax: /v1/tasks/:id */
  url: string;
  summary: string;
  description?: string;
  tag: string;
  auth: AuthLevel;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  /** A JSON body validated before the handler runs. */
  body?: z.ZodType<B>;
  /** Bodies the handler reads itself (documentation only), e.g. multipart uploads. */
  requestBodies?: Array<{ contentType: string; schema: z.ZodType }>;
  responses: Record<number, ResponseDoc>;
  handler(input: RouteInput<P, Q, B>): Promise<unknown>;
}

/** A route of any parameter types, for lists of routes. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRoute = ApiRoute<any, any, any>;

/** Keeps the handler's parameter types tied to the schemas. */
export function defineRoute<P = undefined, Q = undefined, B = undefined>(
  route: ApiRoute<P, Q, B>,
): ApiRoute<P, Q, B> {
  return route;
}

/** Validates one part of the request; the error names the first field at fault. */
export function parseInput<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = [where, ...issue.path.map(String)].join('.');
  throw new ApiError('invalid_request', `${field}: ${issue.message}`, field);
}

export function registerRoutes(app: FastifyInstance, routes: readonly AnyRoute[], auth: Authenticator): void {
  for (const r of routes) {
    app.route({
      method: r.method,
      url: r.url,
      handler: async (req, reply) => {
        const caller: Caller =
          r.auth === 'none'
            ? auth.identify(req.headers.authorization)
            : auth.authenticate(req.headers.authorization);
        if (r.auth === 'admin') requireAdmin(caller);
        const input: RouteInput<unknown, unknown, unknown> = {
          params: r.params ? parseInput(r.params, req.params, 'path') : undefined,
          query: r.query ? parseInput(r.query, req.query, 'query') : undefined,
          body: r.body ? parseInput(r.body, req.body, 'body') : undefined,
          caller,
          req,
          reply,
        };
        return r.handler(input);
      },
    });
  }
}
