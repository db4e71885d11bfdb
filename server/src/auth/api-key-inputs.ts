import { z } from 'zod';
import { humanText } from '../errors/text-schemas.ts';
import { apiKeyOutputSchema } from './api-key.ts';
import { tenantScopeSchema } from './scopes.ts';

export const apiKeyNameSchema = humanText(100);

export const createApiKeyBody = z.strictObject({
  name: apiKeyNameSchema.describe('What the key is for, e.g. "POS back end, store 12".'),
  scopes: z.array(tenantScopeSchema).min(1, 'name at least one scope').max(20),
});

export const createdApiKeyOutput = z.object({
  apiKey: apiKeyOutputSchema,
  secret: z.string().describe('The full API key. Shown once: store it now, it cannot be retrieved again.'),
});
