#!/usr/bin/env node
// The CLI runs the TypeScript sources directly through tsx's loader: there is no build
// step between `npm install` and `npm start` (see docs/adr/0003-run-typescript-with-tsx.md).
import { register } from 'tsx/esm/api';

register();
await import('../server/src/cli/main.ts');
