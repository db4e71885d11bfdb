// Child process started by load-generator.ts: runs autocannon jobs sent over IPC.
import autocannon from 'autocannon';
import { assertLoopback, requestFactory, type GeneratedRequests, type LoadJob, type LoadSummary, type WorkerReply, type WorkerRequest } from './load-generator.ts';

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * autocannon's own latency percentiles are whole milliseconds, which reads as "0 ms"
 * for anything sub-millisecond. Its per-response times (hrtime, fractional ms) are kept
 * here instead, for the same responses it counts: 2xx only.
 */
class LatencyRecorder {
  private values = new Float64Array(1 << 16);
  private count = 0;

  record(ms: number): void {
    if (this.count === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.count++] = ms;
  }

  summary(): { p50: number; p99: number; average: number } {
    const sorted = this.values.slice(0, this.count).sort();
    let total = 0;
    for (const value of sorted) total += value;
    return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), average: this.count ? total / this.count : 0 };
  }
}

/**
 * autocannon calls setupRequest before every request it sends (the first one included),
 * synchronously before writing it, so each request gets its own body and key.
 */
function generatedRequests(url: string, generated: GeneratedRequests): { requests: autocannon.Request[]; count: () => number } {
  const next = requestFactory(generated, 'load');
  let count = 0;
  const requests: autocannon.Request[] = [
    {
      method: 'POST',
      path: new URL(url).pathname,
      setupRequest: (request) => {
        const post = next();
        count += 1;
        const headers = post.idempotencyKey === undefined ? request.headers : { ...request.headers, 'idempotency-key': post.idempotencyKey };
        return { ...request, headers, body: post.body };
      },
    },
  ];
  return { requests, count: () => count };
}

async function runJob(job: LoadJob): Promise<LoadSummary> {
  assertLoopback(job.url);
  const latencies = new LatencyRecorder();
  const generated = job.generated ? generatedRequests(job.url, job.generated) : undefined;
  const mustContain = job.bodyMustContain;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: job.url,
        connections: job.connections,
        duration: job.durationSeconds,
        pipelining: 1,
        headers: job.headers,
        ...(generated && { requests: generated.requests }),
        ...(mustContain !== undefined && { verifyBody: (body: unknown) => typeof body === 'string' && body.includes(mustContain) }),
      },
      (error: unknown, result: autocannon.Result) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(result)),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
      if (statusCode >= 200 && statusCode < 300) latencies.record(responseTimeMs);
    });
  });
  const statusCodes: Record<string, number> = {};
  for (const [status, stats] of Object.entries(result.statusCodeStats ?? {})) statusCodes[status] = stats.count ?? 0;
  const latency = latencies.summary();
  return {
    durationSeconds: result.duration,
    requestsTotal: result.requests.total,
    requestsPerSecondAverage: result.requests.average,
    latencyP50Ms: latency.p50,
    latencyP99Ms: latency.p99,
    latencyAverageMs: latency.average,
    count2xx: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    requestsSent: result.requests.sent,
    mismatches: result.mismatches ?? 0,
    ...(generated && { generated: generated.count() }),
  };
}

function reply(message: WorkerReply): void {
  if (process.connected) process.send?.(message);
}

process.on('message', (message: WorkerRequest) => {
  if (message.type !== 'run') return;
  runJob(message.job).then(
    (summary) => reply({ type: 'result', id: message.id, summary }),
    (error: unknown) => reply({ type: 'error', id: message.id, message: error instanceof Error ? error.message : String(error) }),
  );
});
