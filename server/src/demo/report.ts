import { money, type DemoResult, type DemoStep } from './scenario.ts';

/** One step as it completes: "3. Partner offer and code pool" and its lines. */
export function formatStep(step: DemoStep): string {
  return [`${step.number}. ${step.title}`, ...step.lines.map((line) => `   ${line}`)].join('\n');
}

/** What a person needs to look around afterwards: the keys (shown once), the URLs, the ids. */
export function formatSummary(result: DemoResult): string {
  const keyLines = (tenant: DemoResult['issuer']) => tenant.keys.map((key) => `    ${key.name.padEnd(34)} ${key.secret}   (${key.scopes.join(', ')})`);
  const webhook =
    result.webhook.status === 'received'
      ? `${result.webhook.type} ${result.webhook.id}, signature ${result.webhook.verified ? 'verified' : 'NOT verified'}`
      : result.webhook.status === 'skipped'
        ? `skipped: ${result.webhook.reason}`
        : `NOT received: ${result.webhook.reason}`;
  const totals = result.statement.totals.map((t) => (t.owedBy ? `${t.owedBy} owes ${t.owedTo} ${money(t.amountMinor, t.currency)}` : `nothing owed in ${t.currency}`)).join('; ');
  return [
    '',
    result.ok ? 'Demo coalition ready.' : 'Demo coalition seeded, but a step did not go as expected (see above).',
    '',
    `  ${result.issuer.displayName} (${result.issuer.slug}), issuer; API keys, shown once (demo keys):`,
    ...keyLines(result.issuer),
    `  ${result.partner.displayName} (${result.partner.slug}), partner; API keys, shown once (demo keys):`,
    ...keyLines(result.partner),
    '',
    `  Voucher        ${result.voucher.id}   code ${result.voucher.codeMask}   customer ${result.voucher.customerId}`,
    `  Redemption     ${result.redemption.id}   order ${result.redemption.orderRef}`,
    `  Webhook        ${webhook}`,
    `  Statement      ${result.statement.id}   ${result.statement.period} ${result.statement.status}${result.statement.preview ? ' (preview)' : ''}: ${totals}`,
    '',
    `  Portal         ${result.portal.url}   sign in with any of these (demo password: ${result.portal.password})`,
    ...result.portal.logins.map((login) => `    ${login.email.padEnd(40)} ${login.roles.join(', ')}`),
    '',
    `  API            ${result.urls.api}`,
    `  OpenAPI        ${result.urls.openapi}`,
    `  API reference  ${result.urls.apiReference}`,
    `  Public JWKS    ${result.urls.jwks}`,
    '',
  ].join('\n');
}

/** The whole report: every step, then the summary. */
export function formatDemoReport(result: DemoResult): string {
  return [`Demo coalition, run ${result.run}`, '', ...result.steps.map(formatStep), formatSummary(result)].join('\n');
}
