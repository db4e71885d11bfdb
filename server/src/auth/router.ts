import { router } from '../trpc/trpc.ts';
import { createApiKeyProcedure } from './create-api-key.procedure.ts';
import { getApiKeyProcedure } from './get-api-key.procedure.ts';
import { listApiKeysProcedure } from './list-api-keys.procedure.ts';
import { operatorCreateApiKeyProcedure, operatorListApiKeysProcedure, operatorRevokeApiKeyProcedure } from './operator-api-keys.procedures.ts';
import { revokeApiKeyProcedure } from './revoke-api-key.procedure.ts';

export const apiKeysRouter = router({
  create: createApiKeyProcedure,
  list: listApiKeysProcedure,
  get: getApiKeyProcedure,
  revoke: revokeApiKeyProcedure,
});

export const operatorApiKeysRouter = router({
  create: operatorCreateApiKeyProcedure,
  list: operatorListApiKeysProcedure,
  revoke: operatorRevokeApiKeyProcedure,
});
