import type {
  AnyTRPCProcedure,
  AnyTRPCRouter,
  TRPCBuiltRouter,
  TRPCMutationProcedure,
  TRPCQueryProcedure,
  TRPCRouterRecord,
  inferProcedureInput,
  inferTransformedProcedureOutput,
} from '@trpc/server';
import type { ErrorCode } from './app-router.ts';

/**
 * Named types expanded into plain structures, so the surface of the server's router
 * prints as one self-contained declaration (scripts/build.ts): nothing in it refers
 * back to a server file.
 */
type Plain<T> = T extends string | number | boolean | bigint | symbol | null | undefined | void
  ? T
  : T extends readonly (infer Item)[]
    ? T extends readonly [unknown, ...unknown[]]
      ? { [K in keyof T]: Plain<T[K]> }
      : Plain<Item>[]
    : T extends object
      ? { [K in keyof T]: Plain<T[K]> }
      : T;

/** The client-facing surface of a server router: for each procedure, its kind, input and (JSON-serialised) output. */
export type SurfaceOf<TRouter extends AnyTRPCRouter> = RecordSurface<TRouter, TRouter['_def']['record']>;

// A conditional type, so each level resolves to an anonymous mapped type and prints in full.
type RecordSurface<TRouter extends AnyTRPCRouter, TRecord> = TRecord extends object
  ? {
      [K in keyof TRecord]: TRecord[K] extends AnyTRPCProcedure
        ? {
            type: TRecord[K]['_def']['type'];
            input: Plain<inferProcedureInput<TRecord[K]>>;
            output: Plain<inferTransformedProcedureOutput<TRouter, TRecord[K]>>;
          }
        : TRecord[K] extends TRPCRouterRecord
          ? RecordSurface<TRouter, TRecord[K]>
          : never;
    }
  : never;

/** The body of every error: tRPC's `error.data` (and the REST error body). */
export interface ErrorData {
  code: ErrorCode;
  message: string;
  details: Record<string, unknown>;
  requestId?: string;
  httpStatus: number;
  path?: string;
}

export interface ErrorShape {
  message: string;
  /** The JSON-RPC number of the tRPC code; the stable reason is `data.code`. */
  code: number;
  data: ErrorData;
}

type ProceduresOf<TSurface> = {
  [K in keyof TSurface]: TSurface[K] extends { type: 'query'; input: infer In; output: infer Out }
    ? TRPCQueryProcedure<{ input: In; output: Out; meta: object }>
    : TSurface[K] extends { type: 'mutation'; input: infer In; output: infer Out }
      ? TRPCMutationProcedure<{ input: In; output: Out; meta: object }>
      : ProceduresOf<TSurface[K]>;
};

/** A router type `@trpc/client` accepts, built from a surface alone (no server types). */
export type RouterFromSurface<TSurface> = TRPCBuiltRouter<{ ctx: object; meta: object; errorShape: ErrorShape; transformer: false }, ProceduresOf<TSurface>>;
