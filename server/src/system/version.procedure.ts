import { z } from 'zod';
import { publicProcedure } from '../trpc/trpc.ts';
import { packageVersion } from './package-info.ts';


export const versionProcedure = publicProcedure
  .meta({ openapi: { method: 'GET', path: '/v1/version', tags: ['system'], summary: 'Server name and version (no key needed)' } })
  .input(z.void())
  .output(z.object({ name: z.literal('coalition-exchange'), version: z.string(), apiVersion: z.literal('v1') }))
  .query(() => ({ name: 'coalition-exchange' as const, version: packageVersion, apiVersion: 'v1' as const }));
