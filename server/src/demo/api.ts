import { randomUUID } from 'node:crypto';

/**
 * The demo talks to Coalition Exchange the way an integrator does: plain HTTP against
 * the public REST API, a bearer key per system, an Idempotency-Key on the mutations
 * that need one. No server module is called directly.
 */

/** An API refusal, with its stable reason code. */
export class DemoApiError extends Error {
  override readonly name = 'DemoApiError';

  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly code: string | undefined,
    readonly body: unknown,
  ) {
    const message = typeof body === 'object' && body !== null && 'message' in body ? String((body as { message: unknown }).message) : JSON.stringify(body);
    super(`${method} ${path} answered ${status}${code ? ` ${code}` : ''}: ${message}`);
  }
}

/** "fetch failed" says little: the cause (ECONNREFUSED 127.0.0.1:3000, a timeout) says what happened. */
function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as (Error & { code?: string }) | undefined;
  return cause?.message || cause?.code || error.message;
}

export interface CallOptions {
  key: string;
  body?: unknown;
  /** Sent as the Idempotency-Key header; `true` makes a fresh one. */
  idempotencyKey?: string | true;
  /** A raw body (the code file upload) instead of JSON. */
  raw?: { contentType: string; data: string };
  query?: Record<string, string>;
}

export class DemoApi {
  constructor(
    readonly baseUrl: string,
    private readonly timeoutMs = 30_000,
  ) {}

  async call<T = any>(method: string, path: string, options: CallOptions): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${options.key}`, 'user-agent': 'coalition-demo/1' };
    let payload: string | undefined;
    if (options.raw) {
      headers['content-type'] = options.raw.contentType;
      payload = options.raw.data;
    } else if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(options.body);
    }
    if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey === true ? randomUUID() : options.idempotencyKey;
    const query = options.query ? `?${new URLSearchParams(options.query).toString()}` : '';
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}/api${path}${query}`, { method, headers, body: payload, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (error) {
      throw new Error(`${method} ${path}: no answer from ${this.baseUrl} (${describeFetchError(error)})`, { cause: error });
    }
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: kept as text
    }
    if (!response.ok) {
      const code = typeof parsed === 'object' && parsed !== null && 'code' in parsed ? String((parsed as { code: unknown }).code) : undefined;
      throw new DemoApiError(method, path, response.status, code, parsed);
    }
    return parsed as T;
  }

  /** A portal session endpoint (no key): accepting a demo user's invitation. */
  async postSession<T = any>(path: string, body: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'coalition-demo/1' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new Error(`POST ${path}: no answer from ${this.baseUrl} (${describeFetchError(error)})`, { cause: error });
    }
    const parsed = (await response.json().catch(() => null)) as { code?: string } | null;
    if (!response.ok) throw new DemoApiError('POST', path, response.status, parsed?.code, parsed);
    return parsed as T;
  }

  /** GET without a key: the health probe and the public JWKS. */
  async getPublic<T = any>(path: string): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, { signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (error) {
      throw new Error(describeFetchError(error), { cause: error });
    }
    if (!response.ok) throw new DemoApiError('GET', path, response.status, undefined, await response.text());
    return (await response.json()) as T;
  }
}
