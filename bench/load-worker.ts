// Child process started by load-generator.ts: runs autocannon jobs sent over IPC.
import autocannon from 'autocannon';
import { assertLoopback, type LoadJob, type LoadSummary, type WorkerReply, type WorkerRequest } from './load-generator.ts';

async function runJob(job: LoadJob): Promise<LoadSummary> {
  assertLoopback(job.url);
  const result = await autocannon({
    url: job.url,
    connections: job.connections,
    duration: job.durationSeconds,
    pipelining: 1,
    headers: job.headers,
  });
  const statusCodes: Record<string, number> = {};
  for (const [status, stats] of Object.entries(result.statusCodeStats ?? {})) statusCodes[status] = stats.count ?? 0;
  return {
    durationSeconds: result.duration,
    requestsTotal: result.requests.total,
    requestsPerSecondAverage: result.requests.average,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    latencyAverageMs: result.latency.average,
    count2xx: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
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
