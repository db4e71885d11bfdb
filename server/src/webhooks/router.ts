import { z } from 'zod';
import { router, tenantProcedure } from '../trpc/trpc.ts';
import { createEndpointInputSchema, endpointIdSchema, endpointOutputSchema, updateEndpointInputSchema } from './endpoint.ts';
import {
  deliveryDetailSchema,
  deliveryIdSchema,
  deliveryOutputSchema,
  getDelivery,
  listDeliveries,
  listDeliveriesInputSchema,
  replayDelivery,
  replayFailedDeliveries,
  replayFailedInputSchema,
} from './manage-deliveries.ts';
import {
  createEndpoint,
  disableEndpoint,
  enableEndpoint,
  getEndpoint,
  listEndpoints,
  rotateEndpointSecret,
  sendTestEvent,
  updateEndpoint,
  type EndpointContext,
} from './manage-endpoints.ts';

const manager = { scopes: ['webhooks:manage' as const] };
const tags = ['webhooks'];
const byEndpoint = z.strictObject({ endpointId: endpointIdSchema });
const withSecret = endpointOutputSchema.extend({ secret: z.string().describe('The signing secret (whsec_…). Shown in this answer only: store it now.') });

function contextOf(ctx: { services: EndpointContext['services']; tenant: EndpointContext['tenant']; keyId: string }): EndpointContext {
  return { services: ctx.services, tenant: ctx.tenant, actor: ctx.keyId, now: ctx.services.clock.now() };
}

export const webhooksRouter = router({
  createEndpoint: tenantProcedure
    .meta({ ...manager, openapi: { method: 'POST', path: '/v1/webhooks/endpoints', tags, summary: 'Register an endpoint; its signing secret is shown once', protect: true } })
    .input(createEndpointInputSchema)
    .output(withSecret)
    .mutation(({ ctx, input }) => createEndpoint(contextOf(ctx), input)),
  listEndpoints: tenantProcedure
    .meta({ ...manager, openapi: { method: 'GET', path: '/v1/webhooks/endpoints', tags, summary: 'Your endpoints and their states (never a secret)', protect: true } })
    .input(z.strictObject({}).optional())
    .output(z.object({ endpoints: z.array(endpointOutputSchema) }))
    .query(async ({ ctx }) => ({ endpoints: await listEndpoints(contextOf(ctx)) })),
  getEndpoint: tenantProcedure
    .meta({ ...manager, openapi: { method: 'GET', path: '/v1/webhooks/endpoints/{endpointId}', tags, summary: 'One endpoint', protect: true } })
    .input(byEndpoint)
    .output(endpointOutputSchema)
    .query(({ ctx, input }) => getEndpoint(contextOf(ctx), input.endpointId)),
  updateEndpoint: tenantProcedure
    .meta({ ...manager, openapi: { method: 'PATCH', path: '/v1/webhooks/endpoints/{endpointId}', tags, summary: "Change an endpoint's URL, description or event types", protect: true } })
    .input(byEndpoint.extend(updateEndpointInputSchema.shape).strict())
    .output(endpointOutputSchema)
    .mutation(({ ctx, input }) => {
      const { endpointId, ...patch } = input;
      return updateEndpoint(contextOf(ctx), endpointId, patch);
    }),
  disableEndpoint: tenantProcedure
    .meta({ ...manager, openapi: { method: 'POST', path: '/v1/webhooks/endpoints/{endpointId}/disable', tags, summary: 'Stop deliveries to an endpoint (events meanwhile are kept as failed, replayable)', protect: true } })
    .input(byEndpoint)
    .output(endpointOutputSchema)
    .mutation(({ ctx, input }) => disableEndpoint(contextOf(ctx), input.endpointId)),
  enableEndpoint: tenantProcedure
    .meta({ ...manager, openapi: { method: 'POST', path: '/v1/webhooks/endpoints/{endpointId}/enable', tags, summary: 'Resume deliveries to an endpoint', protect: true } })
    .input(byEndpoint)
    .output(endpointOutputSchema)
    .mutation(({ ctx, input }) => enableEndpoint(contextOf(ctx), input.endpointId)),
  rotateSecret: tenantProcedure
    .meta({
      ...manager,
      openapi: { method: 'POST', path: '/v1/webhooks/endpoints/{endpointId}/rotate-secret', tags, summary: 'New signing secret (shown once); the previous one also signs for 24 hours', protect: true },
    })
    .input(byEndpoint)
    .output(withSecret)
    .mutation(({ ctx, input }) => rotateEndpointSecret(contextOf(ctx), input.endpointId)),
  sendTest: tenantProcedure
    .meta({ ...manager, openapi: { method: 'POST', path: '/v1/webhooks/endpoints/{endpointId}/test', tags, summary: 'Send a webhook.test event to this endpoint', protect: true } })
    .input(byEndpoint)
    .output(z.object({ deliveryId: z.string() }))
    .mutation(({ ctx, input }) => sendTestEvent(contextOf(ctx), input.endpointId)),
  listDeliveries: tenantProcedure
    .meta({ ...manager, openapi: { method: 'GET', path: '/v1/webhooks/deliveries', tags, summary: 'Deliveries, newest first: by endpoint, status, event type, time', protect: true } })
    .input(listDeliveriesInputSchema)
    .output(z.object({ deliveries: z.array(deliveryOutputSchema), nextCursor: z.string().nullable() }))
    .query(({ ctx, input }) => listDeliveries(contextOf(ctx), input)),
  getDelivery: tenantProcedure
    .meta({ ...manager, openapi: { method: 'GET', path: '/v1/webhooks/deliveries/{deliveryId}', tags, summary: 'One delivery: its body and every attempt (time, status, duration, response)', protect: true } })
    .input(z.strictObject({ deliveryId: deliveryIdSchema }))
    .output(deliveryDetailSchema)
    .query(({ ctx, input }) => getDelivery(contextOf(ctx), input.deliveryId)),
  replayDelivery: tenantProcedure
    .meta({ ...manager, openapi: { method: 'POST', path: '/v1/webhooks/deliveries/{deliveryId}/replay', tags, summary: 'Send a delivery again, with the same webhook-id', protect: true } })
    .input(z.strictObject({ deliveryId: deliveryIdSchema }))
    .output(deliveryOutputSchema)
    .mutation(({ ctx, input }) => replayDelivery(contextOf(ctx), input.deliveryId)),
  replayFailed: tenantProcedure
    .meta({ ...manager, openapi: { method: 'POST', path: '/v1/webhooks/deliveries/replay-failed', tags, summary: 'Send again every delivery that failed since a moment', protect: true } })
    .input(replayFailedInputSchema)
    .output(z.object({ replayed: z.number().int() }))
    .mutation(({ ctx, input }) => replayFailedDeliveries(contextOf(ctx), input)),
});
