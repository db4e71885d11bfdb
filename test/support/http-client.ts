export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface RequestOptions {
  key?: string | undefined;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

/** Plain fetch against the running app: what a partner's shop or a POS back end does. */
export async function request<T = any>(baseUrl: string, method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  let payload: string | undefined = options.rawBody;
  if (options.body !== undefined) payload = JSON.stringify(options.body);
  if (payload !== undefined) headers['content-type'] ??= 'application/json';
  const response = await fetch(`${baseUrl}${path}`, { method, headers, body: payload });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // leave as text
  }
  return { status: response.status, body: body as T, headers: response.headers };
}

/** A tRPC call over HTTP, the way @trpc/client sends it (queries GET, mutations POST). */
export async function trpcCall(baseUrl: string, type: 'query' | 'mutation', path: string, input: unknown, key?: string, extraHeaders: Record<string, string> = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...extraHeaders, ...(key ? { authorization: `Bearer ${key}` } : {}) };
  if (type === 'query') {
    const query = input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`;
    return request(baseUrl, 'GET', `/trpc/${path}${query}`, { headers });
  }
  return request(baseUrl, 'POST', `/trpc/${path}`, { headers, ...(input === undefined ? { rawBody: '' } : { body: input }) });
}
