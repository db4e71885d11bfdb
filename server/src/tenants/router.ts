import { router } from '../trpc/trpc.ts';
import { listAuditEventsProcedure } from './list-audit-events.procedure.ts';
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
