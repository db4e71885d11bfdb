import { createTRPCClient, httpBatchLink, httpLink, splitLink, TRPCClientError } from '@trpc/client';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '../../server/src/trpc/app-router.ts';

export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;

let csrfToken = '';

/** Every change the portal sends echoes the session's CSRF token (GET /auth/session). */
export function setCsrfToken(token: string): void {
  csrfToken = token;
}

function csrfHeaders(): Record<string, string> {
  return csrfToken ? { 'x-csrf-token': csrfToken } : {};
}

const sameOrigin = (url: URL | RequestInfo, options?: RequestInit) => fetch(url, { ...options, credentials: 'same-origin' });

/**
 * The typed tRPC client: the same procedures, inputs and outputs as the server's router.
 * A call made with `idempotent(key)` goes alone, with that Idempotency-Key header (a
 * batch has one set of headers); everything else is batched.
 */
export const api = createTRPCClient<AppRouter>({
  links: [
    splitLink({
      condition: (op) => typeof op.context.idempotencyKey === 'string',
      true: httpLink({
        url: '/trpc',
        headers: ({ op }) => ({ ...csrfHeaders(), 'idempotency-key': String(op.context.idempotencyKey) }),
        fetch: sameOrigin as typeof fetch,
      }),
      false: httpBatchLink({ url: '/trpc', maxItems: 10, headers: csrfHeaders, fetch: sameOrigin as typeof fetch }),
    }),
  ],
});

/**
 * Call options for a procedure that needs an Idempotency-Key: make the key once per
 * intended change (when the form opens) and send it with every try, so a retry after a
 * lost answer changes nothing twice.
 */
export function idempotent(key: string): { context: { idempotencyKey: string } } {
  return { context: { idempotencyKey: key } };
}

/** A fresh random Idempotency-Key (getRandomValues also works where randomUUID does not: plain http off localhost). */
export function newIdempotencyKey(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** What the portal shows of a failed call: the stable reason code, the message, the request id to quote. */
export interface ApiProblem {
  code: string;
  message: string;
  requestId?: string;
  status?: number;
  details: Record<string, unknown>;
  /** Per-field messages of a VALIDATION_FAILED answer, keyed by dotted path. */
  fields: Record<string, string>;
}

interface ErrorBodyShape {
  code?: string;
  message?: string;
  requestId?: string;
  httpStatus?: number;
  details?: Record<string, unknown>;
}

export function problemOf(error: unknown): ApiProblem {
  if (error instanceof ApiRequestError) return error.problem;
  if (error instanceof TRPCClientError) {
    const data = (error.data ?? {}) as ErrorBodyShape;
    return withFields({ code: data.code ?? 'NETWORK_ERROR', message: error.message || 'The server could not be reached.', requestId: data.requestId, status: data.httpStatus, details: data.details ?? {} });
  }
  return { code: 'UNEXPECTED', message: error instanceof Error ? error.message : String(error), details: {}, fields: {} };
}

function withFields(problem: Omit<ApiProblem, 'fields'>): ApiProblem {
  const issues = Array.isArray(problem.details.issues) ? (problem.details.issues as { path?: string; message?: string }[]) : [];
  const fields: Record<string, string> = {};
  for (const issue of issues) if (issue.path && issue.message && !fields[issue.path]) fields[issue.path] = issue.message;
  return { ...problem, fields };
}

/** A failed plain HTTP call (sign-in, file uploads), with the same error body as every API call. */
export class ApiRequestError extends Error {
  constructor(readonly problem: ApiProblem) {
    super(problem.message);
  }
}

async function failure(res: Response): Promise<ApiRequestError> {
  const body = (await res.json().catch(() => ({}))) as ErrorBodyShape;
  return new ApiRequestError(
    withFields({ code: body.code ?? `HTTP_${res.status}`, message: body.message ?? `${res.status} ${res.statusText}`, requestId: body.requestId, status: res.status, details: body.details ?? {} }),
  );
}

/** JSON over plain HTTP, for the /auth session endpoints. */
export async function requestJson<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...csrfHeaders() },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  if (!res.ok) throw await failure(res);
  return (res.status === 204 ? undefined : await res.json()) as T;
}

export interface UploadProgress {
  loaded: number;
  total: number;
}

/**
 * Sends a file with XMLHttpRequest, which (unlike fetch) reports upload progress.
 * Resolves with the JSON answer; rejects with ApiRequestError.
 */
export function uploadFile<T>(path: string, file: Blob, options: { contentType: string; onProgress?: (progress: UploadProgress) => void; signal?: AbortSignal }): Promise<T> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    xhr.withCredentials = true;
    xhr.setRequestHeader('content-type', options.contentType);
    for (const [name, value] of Object.entries(csrfHeaders())) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => options.onProgress?.({ loaded: event.loaded, total: event.lengthComputable ? event.total : file.size });
    xhr.onload = () => {
      const body = (() => {
        try {
          return JSON.parse(xhr.responseText) as unknown;
        } catch {
          return {};
        }
      })();
      if (xhr.status >= 200 && xhr.status < 300) return resolve(body as T);
      const error = body as ErrorBodyShape;
      reject(new ApiRequestError(withFields({ code: error.code ?? `HTTP_${xhr.status}`, message: error.message ?? `Upload failed (${xhr.status})`, requestId: error.requestId, status: xhr.status, details: error.details ?? {} })));
    };
    xhr.onerror = () => reject(new ApiRequestError({ code: 'NETWORK_ERROR', message: 'The upload was interrupted: the server could not be reached.', details: {}, fields: {} }));
    options.signal?.addEventListener('abort', () => xhr.abort());
    xhr.send(file);
  });
}
