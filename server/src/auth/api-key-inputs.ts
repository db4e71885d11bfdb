import { z } from 'zod';
import { apiKeyOutputSchema } from './api-key.ts';
import { tenantScopeSchema } from './scopes.ts';

export const apiKeyNameSchema = z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters');

export const createApiKeyBody = z.object({
  name: apiKeyNameSchema.describe('What the key is for, e.g. "POS back end, store 12".'),
  scopes: z.array(tenantScopeSchema).min(1, 'name at least one scope').max(20),
});

export const createdApiKeyOutput = z.object({
  apiKey: apiKeyOutputSchema,
  secret: z.string().describe('The full API key. Shown once: store it now, it cannot be retrieved again.'),
});
