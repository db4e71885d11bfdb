/**
 * The one file that reaches into the server, for types only. The published package
 * does not ship it: scripts/build.ts replaces it with the surface it computes here,
 * printed as plain declarations (README.md, "How the types reach you").
 */
import type { ErrorCode as ServerErrorCode } from '../../server/src/errors/error-codes.ts';
import type { AppRouter as ServerAppRouter } from '../../server/src/trpc/app-router.ts';
import type { RouterFromSurface, SurfaceOf } from './router-surface.ts';

/** Every procedure of the server: its kind, input and output as JSON. */
export type AppRouterSurface = SurfaceOf<ServerAppRouter>;

/** The router type the client is typed from. */
export type AppRouter = RouterFromSurface<AppRouterSurface>;

/** The stable reason codes of the server's errors (docs/errors.md). */
export type ErrorCode = ServerErrorCode;
