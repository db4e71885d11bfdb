import { generateOpenApiDocument } from 'trpc-to-openapi';

type OpenApiDocument = ReturnType<typeof generateOpenApiDocument>;
import { ERROR_CODES } from '../errors/error-codes.ts';
import { POOL_FILE_PATHS } from '../pools/openapi-file-routes.ts';
import { SETTLEMENT_FILE_PATHS } from '../settlement/openapi-file-routes.ts';
import type { AnyTRPCProcedure, AnyTRPCRouter } from '@trpc/server';
import type { ProcedureMeta } from '../trpc/trpc.ts';

const ACCESS_NOTES: Record<NonNullable<ProcedureMeta['access']>, string> = {
  public: 'No API key needed; rate limited per client IP.',
  authenticated: 'Any valid API key, tenant or operator.',
  operator: 'Operator key (`cx_op_…`) only.',
  tenant: 'Tenant API key (`cx_live_…`).',
};

export function proceduresOf(router: AnyTRPCRouter): [string, AnyTRPCProcedure][] {
  return Object.entries(router._def.procedures as Record<string, AnyTRPCProcedure>);
}

/**
 * The OpenAPI 3.1 document of the REST face, from the same router the tRPC face
 * serves. Each operation also states who may call it (`x-access`, `x-required-scopes`)
 * and the error body every failure uses.
 */
export function buildOpenApiDocument(router: AnyTRPCRouter, version: string): OpenApiDocument {
  const document = generateOpenApiDocument(router, {
    title: 'Coalition Exchange API',
    version,
    baseUrl: '/api',
    description:
      'REST face of Coalition Exchange. Authenticate with `Authorization: Bearer <api key>`. ' +
      'Every error is `{ code, message, details, requestId }`; `code` is a stable reason listed in docs/errors.md.',
    securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'cx_live_<id>_<secret> or cx_op_<id>_<secret>' } },
  });
  document.components ??= {};
  document.components.schemas = {
    ...document.components.schemas,
    Error: {
      type: 'object',
      required: ['code', 'message', 'details'],
      properties: {
        code: { type: 'string', enum: Object.keys(ERROR_CODES) },
        message: { type: 'string' },
        details: { type: 'object', additionalProperties: true },
        requestId: { type: 'string' },
      },
    },
  };
  for (const [, procedure] of proceduresOf(router)) {
    const meta = procedure._def.meta as ProcedureMeta | undefined;
    if (!meta?.openapi) continue;
    const path = meta.openapi.path.replace(/\/$/, '');
    const operation = document.paths?.[path]?.[meta.openapi.method.toLowerCase() as 'get'] as Record<string, unknown> | undefined;
    if (!operation || !meta.access) continue;
    const scopes = meta.scopes ?? [];
    operation['x-access'] = meta.access;
    if (meta.access === 'tenant') operation['x-required-scopes'] = scopes;
    if (meta.role) operation['x-required-role'] = meta.role;
    const scopeNote = meta.access === 'tenant' && scopes.length ? ` Scopes: ${scopes.map((s) => `\`${s}\``).join(', ')} (or \`admin\`).` : '';
    const roleNote = meta.role ? ` For ${meta.role} tenants.` : '';
    operation.description = [operation.description, `${ACCESS_NOTES[meta.access]}${scopeNote}${roleNote}`].filter(Boolean).join('\n\n');
    operation.responses = {
      ...(operation.responses as object),
      default: { description: 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
    };
  }
  document.paths = { ...document.paths, ...(POOL_FILE_PATHS as NonNullable<OpenApiDocument['paths']>), ...(SETTLEMENT_FILE_PATHS as NonNullable<OpenApiDocument['paths']>) };
  return document;
}

/**
 * REST paths and the methods they accept, for answering a known path called with the
 * wrong method with 405 and an Allow header instead of a bare 404.
 */
export function restRouteTable(router: AnyTRPCRouter): { pattern: RegExp; method: string }[] {
  return proceduresOf(router).flatMap(([, procedure]) => {
    const openapi = (procedure._def.meta as ProcedureMeta | undefined)?.openapi;
    if (!openapi) return [];
    const pattern = new RegExp(`^${openapi.path.replace(/\{\w+\}/g, '[^/]+')}/?$`);
    return [{ pattern, method: openapi.method }];
  });
}
