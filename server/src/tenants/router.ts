import { router } from '../trpc/trpc.ts';
import { listAuditEventsProcedure, listOperatorAuditEventsProcedure } from './list-audit-events.procedure.ts';
import { createTenantProcedure, getTenantProcedure, listTenantsProcedure, updateTenantProcedure } from './operator-tenants.procedures.ts';

export const operatorTenantsRouter = router({
  create: createTenantProcedure,
  list: listTenantsProcedure,
  get: getTenantProcedure,
  update: updateTenantProcedure,
});

export const auditEventsRouter = router({
  list: listAuditEventsProcedure,
});

export const operatorAuditEventsRouter = router({
  list: listOperatorAuditEventsProcedure,
});
