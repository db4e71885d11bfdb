import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { addressRefusal, guardedLookup, type AddressPolicy } from './address-guard.ts';

export interface SendOutcome {
  /** The receiver's status code; null when no response came (connection error, timeout, refused address). */
  statusCode: number | null;
  error: string | null;
  /** The first KiB of the response body (logged with the attempt). */
  responseBody: string | null;
  retryAfter: string | undefined;
  durationMs: number;
}

const MAX_LOGGED_BODY = 1_024;

// Keep-alive connections per receiver; each new connection's address is checked by the guarded lookup.
const agents = new Map<string, http.Agent>();
function agentFor(protocol: string, policy: AddressPolicy): http.Agent {
  const key = `${protocol}${policy.allowLoopback ? 'L' : ''}${policy.allowPrivate ? 'P' : ''}`;
  let agent = agents.get(key);
  if (!agent) {
    const options = { keepAlive: true, maxSockets: 8, lookup: guardedLookup(policy) as never };
    agent = protocol === 'https:' ? new https.Agent(options) : new http.Agent(options);
    agents.set(key, agent);
  }
  return agent;
}

/** Closes idle keep-alive connections (at shutdown). */
export function closeWebhookAgents(): void {
  for (const agent of agents.values()) agent.destroy();
  agents.clear();
}

function describeError(error: NodeJS.ErrnoException): string {
  if (error.code === 'EBLOCKEDADDRESS') return `blocked: ${error.message}`;
  if (error.code === 'ECONNREFUSED') return 'connection refused';
  if (error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN') return `DNS lookup failed (${error.code})`;
  if (error.code === 'ETIMEDOUT') return 'timed out';
  if (error.code === 'ECONNRESET') return 'connection reset';
  return error.code ? `${error.code}: ${error.message}` : error.message;
}

/**
 * One POST of a webhook: no redirects followed, the exchange up to the response head
 * bounded by `timeoutMs` (a body still arriving then is cut off, the status counts), addresses checked after DNS resolution
 * (also for an IP literal, which skips DNS). Never throws: the outcome says what happened.
 */
export function sendWebhook(
  target: {
    url: string;
    headers: Record<string, string>;
    body: string;
    /** Headers that depend on the sending time (the signature), computed once a connection is ready. */
    signedHeaders?: (timestampSeconds: number) => Record<string, string>;
  },
  options: { timeoutMs: number; policy: AddressPolicy }): Promise<SendOutcome> {
  const started = performance.now();
  const done = (outcome: Omit<SendOutcome, 'durationMs'>): SendOutcome => ({ ...outcome, durationMs: Math.round(performance.now() - started) });
  return new Promise((resolve) => {
    let url: URL;
    try {
      url = new URL(target.url);
    } catch {
      return resolve(done({ statusCode: null, error: 'invalid URL', responseBody: null, retryAfter: undefined }));
    }
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host)) {
      const refusal = addressRefusal(host, options.policy);
      if (refusal) return resolve(done({ statusCode: null, error: `blocked: ${refusal}, which webhooks may not reach`, responseBody: null, retryAfter: undefined }));
    }
    const client = url.protocol === 'https:' ? https : http;
    let settled = false;
    const finish = (outcome: Omit<SendOutcome, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      resolve(done(outcome));
    };
    const request = client.request(url, {
      method: 'POST',
      agent: agentFor(url.protocol, options.policy),
      headers: { ...target.headers, 'content-length': Buffer.byteLength(target.body) },
    });
    // Called when the deadline passes after the answer's head arrived: the status counts, the rest of the body is not waited for.
    let answered: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    // The clock starts when the request has a connection of its own (new or kept alive):
    // time spent waiting for one of the receiver's connections (maxSockets) is not the receiver's.
    request.once('socket', () => {
      // Signed now, not when queued: the receiver holds the timestamp against its clock.
      if (target.signedHeaders) for (const [name, value] of Object.entries(target.signedHeaders(Math.floor(Date.now() / 1000)))) request.setHeader(name, value);
      request.end(target.body);
      timer = setTimeout(() => {
        if (answered) answered();
        else finish({ statusCode: null, error: `timed out after ${options.timeoutMs} ms`, responseBody: null, retryAfter: undefined });
        request.destroy();
      }, options.timeoutMs);
    });
    request.on('error', (error: NodeJS.ErrnoException) => finish({ statusCode: null, error: describeError(error), responseBody: null, retryAfter: undefined }));
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      let kept = 0;
      const retryAfter = typeof response.headers['retry-after'] === 'string' ? response.headers['retry-after'] : undefined;
      // Stored as text: NUL (which PostgreSQL text refuses) and invalid UTF-8 become U+FFFD.
      const complete = () => finish({ statusCode: response.statusCode ?? null, error: null, responseBody: Buffer.concat(chunks).toString('utf8').replace(/\u0000/g, '\uFFFD'), retryAfter });
      answered = complete;
      response.on('data', (chunk: Buffer) => {
        if (kept < MAX_LOGGED_BODY) {
          chunks.push(chunk.subarray(0, MAX_LOGGED_BODY - kept));
          kept += Math.min(chunk.length, MAX_LOGGED_BODY - kept);
        }
        // Enough read: the rest of a large answer is not waited for.
        if (kept >= MAX_LOGGED_BODY) {
          complete();
          response.destroy();
        }
      });
      response.on('end', complete);
      response.on('error', complete);
    });
  });
}
