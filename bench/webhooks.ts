/**
 * Webhook deliveries, end to end: the issuer registers a receiver on 127.0.0.1 for
 * `voucher.redeemed` through the API; the redemptions' events wait in the issuer's
 * outbox while nothing relays them (the HTTP scenarios run with no worker); then the
 * relay and the webhook worker start, as `coalition worker` runs them, and we measure
 * (1) the burst: how fast the backlog reaches the receiver, and (2) the latency: with
 * relay and worker running, redemptions at a steady pace, each from its answer to the
 * arrival of its webhook. Every delivery must arrive and every signature verify.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { Webhook } from 'standardwebhooks';
import { COALITION_SCHEMA } from '../server/src/db/schema-names.ts';
import { startWorkerHost } from '../server/src/jobs/worker-host.ts';
import { deliverWebhookJob } from '../server/src/webhooks/deliver-webhook.ts';
import { WebhookRelay } from '../server/src/webhooks/relay.ts';
import { closeWebhookAgents } from '../server/src/webhooks/send-webhook.ts';
import { settle, watchCpu, type CpuWindow } from './cpu.ts';
import { call } from './code-import.ts';
import { ORDER_AMOUNT_MINOR, ORDER_CURRENCY, REDEEM_PATH, type RedemptionWorld } from './redemptions.ts';
import type { BenchApp, Stops } from './stack.ts';

export const WEBHOOK_EVENT = 'voucher.redeemed';
/** Redemptions per second of the latency phase: a steady trickle the machine keeps up with, so the latency is the pipeline's, not a queue's. */
export const LATENCY_REDEMPTIONS_PER_SECOND = 50;
/** The phase needs at least this many codes left after the redeem scenario, or it is reported as failed. */
const MIN_LATENCY_REDEMPTIONS = 50;
/** All deliveries must arrive within this long after the last was due, or the phase fails. */
const ARRIVAL_TIMEOUT_MS = 180_000;
const POLL_MS = 50;

// ---- the receiver process ------------------------------------------------------------------

export interface ReceivedWebhook {
  /** Wall clock (performance.timeOrigin + performance.now()) once the whole body was in. */
  receivedAtMs: number;
  method: string;
  path: string;
  webhookId: string;
  webhookTimestamp: string;
  webhookSignature: string;
  body: string;
}

export interface PacedRedemption {
  code: string;
  /** 0: no answer (connection error). */
  status: number;
  redemptionId: string | null;
  sentAtMs: number;
  /** When the whole answer was in: after the redemption's transaction committed. */
  answeredAtMs: number;
  /** The start of the answer, when it was not a redemption. */
  answer?: string;
}

interface RedeemJob {
  url: string;
  key: string;
  codes: string[];
  ratePerSecond: number;
  orderTag: string;
  orderAmountMinor: number;
  currency: string;
}

export type ReceiverRequest = { type: 'count'; id: number } | { type: 'received'; id: number } | { type: 'redeem'; id: number; job: RedeemJob };
export type ReceiverReply =
  | { type: 'listening'; port: number }
  | { type: 'count'; id: number; count: number }
  | { type: 'received'; id: number; received: ReceivedWebhook[] }
  | { type: 'redeemed'; id: number; results: PacedRedemption[] }
  | { type: 'error'; id: number; message: string };

export interface WebhookReceiver {
  url: string;
  count(): Promise<number>;
  received(): Promise<ReceivedWebhook[]>;
  redeem(job: RedeemJob): Promise<PacedRedemption[]>;
  stop(): Promise<void>;
}

/** The receiver in a Node process of its own, like autocannon's: its work never shares the server's event loop. */
export async function startWebhookReceiver(stops: Stops): Promise<WebhookReceiver> {
  const child: ChildProcess = fork(fileURLToPath(new URL('./webhook-receiver.ts', import.meta.url)), [], {
    execArgv: ['--import', import.meta.resolve('tsx')],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let nextId = 1;
  const pending = new Map<number, { resolve(reply: ReceiverReply): void; reject(error: Error): void }>();
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      for (const { reject } of pending.values()) reject(new Error(`webhook receiver exited (code ${code}, signal ${signal})`));
      pending.clear();
      resolve();
    });
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', () => reject(new Error('webhook receiver exited before listening')));
    child.once('message', (message: ReceiverReply) => (message.type === 'listening' ? resolve(message.port) : reject(new Error(`webhook receiver said ${message.type} first`))));
  });
  child.on('message', (message: ReceiverReply) => {
    if (message.type === 'listening') return;
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.type === 'error') waiter.reject(new Error(`webhook receiver: ${message.message}`));
    else waiter.resolve(message);
  });
  const ask = (request: ReceiverRequest): Promise<ReceiverReply> => {
    if (exited) return Promise.reject(new Error('webhook receiver is not running'));
    return new Promise((resolve, reject) => {
      pending.set(request.id, { resolve, reject });
      child.send(request);
    });
  };
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (exited) return;
      if (child.connected) child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exitedPromise;
      clearTimeout(timer);
    })());
  stops.push('webhook receiver', stop);
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    async count() {
      const reply = await ask({ type: 'count', id: nextId++ });
      return reply.type === 'count' ? reply.count : 0;
    },
    async received() {
      const reply = await ask({ type: 'received', id: nextId++ });
      return reply.type === 'received' ? reply.received : [];
    },
    async redeem(job) {
      const reply = await ask({ type: 'redeem', id: nextId++, job });
      return reply.type === 'redeemed' ? reply.results : [];
    },
    stop,
  };
}

// ---- set-up -----------------------------------------------------------------------------------

export interface WebhookEndpoint {
  id: string;
  url: string;
  secret: string;
}

/** The issuer registers the receiver through the API, for `voucher.redeemed` only. */
export async function registerEndpoint(app: BenchApp, url: string): Promise<WebhookEndpoint> {
  const endpoint = await call<{ id: string; secret: string; url: string; eventTypes: string[] | null }>(app.baseUrl, app.tenantKey, 'POST', '/api/v1/webhooks/endpoints', {
    what: 'Registering the bench webhook endpoint',
    body: { url, eventTypes: [WEBHOOK_EVENT], description: 'bench receiver' },
  });
  if (!endpoint.secret.startsWith('whsec_') || endpoint.eventTypes?.join() !== WEBHOOK_EVENT) throw new Error(`Registering the bench webhook endpoint answered ${JSON.stringify(endpoint)}`);
  return { id: endpoint.id, url, secret: endpoint.secret };
}

/**
 * One relay pass with no worker running, before the redeem load: every event already
 * in an outbox (purchases, exchanges, pools…; none the endpoint takes but the redeem
 * pre-check's) is relayed, so the burst later holds the redemptions' events alone.
 */
export async function relayOutboxOnce(app: BenchApp): Promise<{ relayed: number; dispatched: number }> {
  return new WebhookRelay(app.services).runOnce();
}

// ---- the measurement ---------------------------------------------------------------------------

export interface Percentiles {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export interface WebhookFigures {
  endpointUrl: string;
  /** Deliveries the worker host runs at once (the webhook job's concurrency). */
  workerConcurrency: number;
  burst: {
    /** Deliveries waiting (their events in the outbox, or queued) when relay and worker started. */
    deliveries: number;
    /** From starting relay and worker to the last delivery's arrival. */
    seconds: number;
    perSecond: number;
    firstArrivalSeconds: number;
    /** From the start until the relay had written the last delivery row (its created_at). */
    fanOutSeconds: number;
    /** Per delivery: from its row being written (created_at) to its arrival, in ms. */
    rowToArrivalMs: Percentiles;
    /** From the start until every delivery was recorded as succeeded; the CPU window is this plus a settle. */
    cpu: CpuWindow & { deliveries: number };
  };
  latency: {
    ratePerSecond: number;
    redemptions: number;
    /** Redemptions answered 200 with a redemption. */
    answered: number;
    /** Answer of the redemption (after its commit) → webhook arrival, in ms: the figure. */
    answerToArrivalMs: Percentiles;
    /** The event's occurred_at (the request's start, before the transaction) → arrival. */
    occurredToArrivalMs: Percentiles;
    /** Answer → the delivery row written by the relay (created_at; may be negative: the relay can beat the answer). */
    answerToRowMs: Percentiles;
    /** Delivery row → arrival: dispatch, BullMQ, the worker, the POST. */
    rowToArrivalMs: Percentiles;
    /** The redemptions' own answer times under this trickle, sent → answered. */
    redeemAnswerMs: Percentiles;
  };
  checks: {
    /** `voucher.redeemed` events of the bench offer in the issuer's outbox = redemptions. */
    events: number;
    /** Delivery rows of the endpoint. */
    deliveries: number;
    received: number;
    distinctReceived: number;
    missing: number;
    unknown: number;
    /** Deliveries not recorded as succeeded, and those that took more than one attempt. */
    notSucceeded: number;
    retried: number;
    /** Redemptions of the bench offer whose event arrived (by data.redemptionId). */
    redemptionsArrived: number;
    redemptions: number;
    signaturesVerified: number;
    signatureFailures: number;
    /** Bodies that are not a voucher.redeemed of the endpoint's tenant, or requests not POST /hooks. */
    wrongBodies: number;
  };
  problems: string[];
}

const wallNow = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function percentiles(values: number[]): Percentiles {
  const sorted = Float64Array.from(values).sort();
  const at = (p: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!);
  return { count: sorted.length, p50: at(50), p99: at(99), max: sorted.length ? sorted[sorted.length - 1]! : 0 };
}

interface DeliveryRow {
  id: string;
  status: string;
  attempt_count: number;
  created_at: Date;
  outbox_event_id: string | null;
}

/** Polls until `done()` or the deadline; the reason on timeout. */
async function waitFor(what: string, done: () => Promise<boolean>, timeoutMs: number): Promise<string | undefined> {
  const deadline = performance.now() + timeoutMs;
  while (!(await done())) {
    if (performance.now() > deadline) return `timed out after ${timeoutMs / 1000} s waiting for ${what}`;
    await sleep(POLL_MS);
  }
  return undefined;
}

/**
 * Both phases, after the redeem scenario. `postmasterPid` for the burst's CPU window.
 * The worker host runs the webhook job alone (the scheduled jobs of `coalition worker`
 * would add sweeps and prunes to the figures); the relay runs with its defaults.
 */
export async function runWebhookBench(
  app: BenchApp,
  world: RedemptionWorld,
  receiver: WebhookReceiver,
  endpoint: WebhookEndpoint,
  durationSeconds: number,
  postmasterPid: number | undefined,
  stops: Stops,
): Promise<WebhookFigures> {
  const problems: string[] = [];
  const deliveriesTable = sql.table(`${COALITION_SCHEMA}.webhook_deliveries`);
  const deliveryCounts = async () => {
    const { rows } = await sql<{ total: string; succeeded: string }>`
      select count(*) as total, count(*) filter (where status = 'succeeded') as succeeded from ${deliveriesTable} where endpoint_id = ${endpoint.id}`.execute(app.services.db);
    return { total: Number(rows[0]!.total), succeeded: Number(rows[0]!.succeeded) };
  };

  // ---- 1. the burst: the redemptions' events, waiting since the redeem scenario --------------
  await settle();
  const backlog = (await world.counts()).outboxEvents;
  const cpuWatch = watchCpu(postmasterPid);
  const startedAt = wallNow();
  const workers = await startWorkerHost({ services: app.services, definitions: [deliverWebhookJob] });
  const relay = new WebhookRelay(app.services);
  let stopping: Promise<void> | undefined;
  const stopDelivery = () =>
    (stopping ??= (async () => {
      await relay.stop();
      await workers.close();
      closeWebhookAgents();
    })());
  stops.push('webhook relay and worker', stopDelivery);
  await relay.start();
  const burstWait = await waitFor(`${backlog} deliveries at the receiver`, async () => (await receiver.count()) >= backlog, ARRIVAL_TIMEOUT_MS);
  if (burstWait) problems.push(`burst: ${burstWait} (${await receiver.count()} arrived)`);
  const recordedWait = await waitFor('the burst deliveries to be recorded as succeeded', async () => (await deliveryCounts()).succeeded >= backlog, 30_000);
  if (recordedWait) problems.push(`burst: ${recordedWait}`);
  await settle();
  const burstCpu = cpuWatch.stop();
  const burstReceived = (await receiver.received()).slice(0, backlog);
  const burstDeliveries = (
    await sql<DeliveryRow>`select id, status, attempt_count, created_at, outbox_event_id from ${deliveriesTable} where endpoint_id = ${endpoint.id}`.execute(app.services.db)
  ).rows;
  const createdAtById = new Map(burstDeliveries.map((row) => [row.id, row.created_at.getTime()]));
  const lastArrival = Math.max(startedAt, ...burstReceived.map((entry) => entry.receivedAtMs));
  const firstArrival = Math.min(lastArrival, ...burstReceived.map((entry) => entry.receivedAtMs));
  const lastRow = Math.max(startedAt, ...burstDeliveries.map((row) => row.created_at.getTime()));
  const burstSeconds = (lastArrival - startedAt) / 1000;
  const burst: WebhookFigures['burst'] = {
    deliveries: backlog,
    seconds: burstSeconds,
    perSecond: burstSeconds > 0 ? burstReceived.length / burstSeconds : 0,
    firstArrivalSeconds: (firstArrival - startedAt) / 1000,
    fanOutSeconds: (lastRow - startedAt) / 1000,
    // The redeem pre-check's delivery row was written before the load (its event was relayed then): left out.
    rowToArrivalMs: percentiles(
      burstReceived.flatMap((entry) => {
        const created = createdAtById.get(entry.webhookId);
        return created !== undefined && created >= startedAt - 1 ? [entry.receivedAtMs - created] : [];
      }),
    ),
    cpu: { ...burstCpu, deliveries: backlog },
  };

  // ---- 2. the latency: a steady trickle of redemptions with relay and worker running ----------
  const codes = world.take(LATENCY_REDEMPTIONS_PER_SECOND * durationSeconds);
  if (codes.length < MIN_LATENCY_REDEMPTIONS) problems.push(`latency: only ${codes.length} codes were left for the latency phase (at least ${MIN_LATENCY_REDEMPTIONS} needed)`);
  const paced = codes.length
    ? await receiver.redeem({
        url: `${app.baseUrl}${REDEEM_PATH}`,
        key: app.partnerKey,
        codes,
        ratePerSecond: LATENCY_REDEMPTIONS_PER_SECOND,
        orderTag: `bench-webhook-${Date.now().toString(36)}`,
        orderAmountMinor: ORDER_AMOUNT_MINOR,
        currency: ORDER_CURRENCY,
      })
    : [];
  const refused = paced.filter((result) => result.redemptionId === null);
  if (refused.length > 0) problems.push(`latency: ${refused.length} of ${paced.length} redemptions were not answered with a redemption, e.g. HTTP ${refused[0]!.status} ${refused[0]!.answer ?? ''}`);
  const expectedTotal = (await world.counts()).outboxEvents;
  const latencyWait = await waitFor(`${expectedTotal} deliveries at the receiver`, async () => (await receiver.count()) >= expectedTotal, ARRIVAL_TIMEOUT_MS);
  if (latencyWait) problems.push(`latency: ${latencyWait} (${await receiver.count()} arrived)`);
  const allRecorded = await waitFor('every delivery to be recorded', async () => (await deliveryCounts()).succeeded >= expectedTotal, 30_000);
  if (allRecorded) problems.push(`latency: ${allRecorded}`);
  // Anything late (a retry, a duplicate) would show up now.
  await settle();
  await stopDelivery();

  // ---- checks over everything that arrived ----------------------------------------------------
  const received = await receiver.received();
  const deliveries = (
    await sql<DeliveryRow>`select id, status, attempt_count, created_at, outbox_event_id from ${deliveriesTable} where endpoint_id = ${endpoint.id}`.execute(app.services.db)
  ).rows;
  const redemptionIds = new Set(
    (await sql<{ id: string }>`select id from ${sql.table(`${COALITION_SCHEMA}.redemptions`)} where offer_id = ${world.offerId}`.execute(app.services.db)).rows.map((row) => row.id),
  );
  const counts = await world.counts();
  const verifier = new Webhook(endpoint.secret);
  const deliveryById = new Map(deliveries.map((row) => [row.id, row]));
  const firstArrivalById = new Map<string, ReceivedWebhook>();
  const arrivalByRedemption = new Map<string, { entry: ReceivedWebhook; occurredAtMs: number }>();
  let signatureFailures = 0;
  let wrongBodies = 0;
  let unknown = 0;
  for (const entry of received) {
    if (!firstArrivalById.has(entry.webhookId)) firstArrivalById.set(entry.webhookId, entry);
    if (!deliveryById.has(entry.webhookId)) unknown += 1;
    try {
      verifier.verify(entry.body, { 'webhook-id': entry.webhookId, 'webhook-timestamp': entry.webhookTimestamp, 'webhook-signature': entry.webhookSignature });
    } catch {
      signatureFailures += 1;
    }
    let body: { id?: unknown; type?: unknown; tenant?: unknown; timestamp?: unknown; data?: { redemptionId?: unknown; offerId?: unknown } } | undefined;
    try {
      body = JSON.parse(entry.body) as typeof body;
    } catch {
      body = undefined;
    }
    const redemptionId = body?.data?.redemptionId;
    if (
      entry.method !== 'POST' ||
      entry.path !== '/hooks' ||
      body?.type !== WEBHOOK_EVENT ||
      body.id !== entry.webhookId ||
      body.tenant !== app.tenantSlug ||
      body.data?.offerId !== world.offerId ||
      typeof redemptionId !== 'string' ||
      typeof body.timestamp !== 'string'
    ) {
      wrongBodies += 1;
      continue;
    }
    if (!arrivalByRedemption.has(redemptionId)) arrivalByRedemption.set(redemptionId, { entry, occurredAtMs: Date.parse(body.timestamp) });
  }
  const missing = deliveries.filter((row) => !firstArrivalById.has(row.id)).length;
  const redemptionsArrived = [...redemptionIds].filter((id) => arrivalByRedemption.has(id)).length;
  const checks: WebhookFigures['checks'] = {
    events: counts.outboxEvents,
    deliveries: deliveries.length,
    received: received.length,
    distinctReceived: firstArrivalById.size,
    missing,
    unknown,
    notSucceeded: deliveries.filter((row) => row.status !== 'succeeded').length,
    retried: deliveries.filter((row) => row.attempt_count > 1).length,
    redemptionsArrived,
    redemptions: redemptionIds.size,
    signaturesVerified: received.length - signatureFailures,
    signatureFailures,
    wrongBodies,
  };
  if (checks.deliveries !== checks.events) problems.push(`${checks.events} voucher.redeemed events but ${checks.deliveries} deliveries to the endpoint`);
  if (checks.events !== counts.redemptions) problems.push(`${counts.redemptions} redemptions but ${checks.events} voucher.redeemed events`);
  if (missing > 0) problems.push(`${missing} of ${deliveries.length} deliveries never arrived`);
  if (unknown > 0) problems.push(`${unknown} arrivals carry a webhook-id that is no delivery of the endpoint`);
  if (checks.notSucceeded > 0) problems.push(`${checks.notSucceeded} deliveries are not recorded as succeeded`);
  if (redemptionsArrived !== redemptionIds.size) problems.push(`the events of ${redemptionIds.size - redemptionsArrived} of ${redemptionIds.size} redemptions never arrived`);
  if (signatureFailures > 0) problems.push(`${signatureFailures} of ${received.length} signatures did not verify`);
  if (wrongBodies > 0) problems.push(`${wrongBodies} arrivals are not a voucher.redeemed of the bench offer for the issuer`);

  // ---- latency of the trickle -------------------------------------------------------------------
  const answered = paced.filter((result) => result.redemptionId !== null);
  const answerToArrival: number[] = [];
  const occurredToArrival: number[] = [];
  const answerToRow: number[] = [];
  const rowToArrival: number[] = [];
  for (const result of answered) {
    const arrival = arrivalByRedemption.get(result.redemptionId!);
    if (!arrival) continue;
    answerToArrival.push(arrival.entry.receivedAtMs - result.answeredAtMs);
    occurredToArrival.push(arrival.entry.receivedAtMs - arrival.occurredAtMs);
    const row = deliveryById.get(arrival.entry.webhookId);
    if (row) {
      answerToRow.push(row.created_at.getTime() - result.answeredAtMs);
      rowToArrival.push(arrival.entry.receivedAtMs - row.created_at.getTime());
    }
  }
  return {
    endpointUrl: endpoint.url,
    workerConcurrency: deliverWebhookJob.concurrency ?? 0,
    burst,
    latency: {
      ratePerSecond: LATENCY_REDEMPTIONS_PER_SECOND,
      redemptions: paced.length,
      answered: answered.length,
      answerToArrivalMs: percentiles(answerToArrival),
      occurredToArrivalMs: percentiles(occurredToArrival),
      answerToRowMs: percentiles(answerToRow),
      rowToArrivalMs: percentiles(rowToArrival),
      redeemAnswerMs: percentiles(answered.map((result) => result.answeredAtMs - result.sentAtMs)),
    },
    checks,
    problems,
  };
}
