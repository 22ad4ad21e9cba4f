// createApp(deps) -> the Hono application. No I/O happens at import time or here: everything
// with side effects arrives through deps, so tests build an app in-process and call
// app.request() without ports.
import { OpenAPIHono } from '@hono/zod-openapi';
import { requestId } from 'hono/request-id';
import type { Deps } from './deps.ts';
import { inputGuard } from './http/input-guard.ts';
import { accessLog, bodyLimit } from './http/middleware.ts';
import { problemHandlers } from './http/problem.ts';
import { admissionRoutes } from './http/routes/admission.ts';
import { attestationRoutes } from './http/routes/attestations.ts';
import { auditRoutes } from './http/routes/audit.ts';
import { healthRoutes } from './http/routes/health.ts';
import { logRoutes } from './http/routes/log.ts';
import { policyRoutes } from './http/routes/policies.ts';
import { problemRoutes } from './http/routes/problems.ts';
import { promotionRoutes } from './http/routes/promotion.ts';
import { rebuildRoutes } from './http/routes/rebuilds.ts';
import { sigstoreRoutes } from './http/routes/sigstore.ts';
import { snapshotRoutes } from './http/routes/snapshots.ts';
import { tokenRoutes } from './http/routes/tokens.ts';
import { webhookRoutes } from './http/routes/webhooks.ts';
import { uiRoutes } from './ui/routes.ts';

export const API_VERSION = '0.1.0';

export function createApp(deps: Deps): OpenAPIHono {
  const app = new OpenAPIHono();
  app.use(requestId({ headerName: 'X-Request-Id' }));
  app.use(accessLog(deps.logger));
  app.use(bodyLimit(deps.config.bodyLimit));
  app.use(inputGuard());

  for (const routes of [
    healthRoutes(deps),
    problemRoutes(),
    tokenRoutes(deps),
    logRoutes(deps),
    attestationRoutes(deps),
    promotionRoutes(deps),
    rebuildRoutes(deps),
    auditRoutes(deps),
    admissionRoutes(deps),
    snapshotRoutes(deps),
    webhookRoutes(deps),
    policyRoutes(deps),
    ...sigstoreRoutes(deps), // the Fulcio- and Rekor-compatible API (workload identity)
  ])
    app.route('/', routes);
  app.route('/ui', uiRoutes(deps)); // the web UI for people (src/ui/)

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'waybill',
      version: API_VERSION,
      description: 'Supply-chain attestation service: signed provenance, test evidence, promotion verdicts.',
    },
    servers: [{ url: deps.config.issuer }],
  });

  const problems = problemHandlers(deps.logger, deps.config.issuer);
  app.notFound(problems.notFound);
  app.onError(problems.onError);
  return app;
}
