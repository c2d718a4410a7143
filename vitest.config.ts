import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

// Tests run against the TypeScript sources: no build is needed before `npm test`, except the
// script-tag bundle that browser tests load, which e2e/global-setup.ts builds once.
const alias = {
  '@rapport/protocol': src('protocol'),
  '@rapport/referrer': src('referrer'),
  '@rapport/sdk': src('sdk'),
  '@rapport/node': src('node'),
};

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        resolve: { alias },
        test: {
          name: 'node',
          environment: 'node',
          include: ['packages/{protocol,referrer,node,server}/**/*.test.ts', 'examples/**/*.test.ts'],
          // PostgreSQL's own tests run in the project `postgres` only.
          exclude: ['packages/server/src/store/postgres/**', 'packages/server/src/test-support/postgres.test.ts', '**/node_modules/**'],
          testTimeout: 20_000,
        },
      },
      {
        resolve: { alias },
        test: {
          name: 'sdk',
          environment: 'happy-dom',
          include: ['packages/sdk/**/*.test.ts'],
        },
      },
      {
        resolve: { alias },
        test: {
          name: 'e2e',
          environment: 'node',
          include: ['e2e/**/*.test.ts'],
          globalSetup: ['e2e/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
      {
        resolve: { alias },
        test: {
          // Tests against PostgreSQL: the global setup starts one throwaway cluster (initdb in a
          // temporary folder, 127.0.0.1 only) and passes its URL on; see test-support/postgres.ts.
          name: 'postgres',
          environment: 'node',
          // The store's own suite and every HTTP test that reads or writes stored data, again on
          // PostgreSQL; tests of one store's internals stay in the node project.
          include: [
            'packages/server/src/test-support/postgres.test.ts',
            'packages/server/src/store/store-contract.test.ts',
            'packages/server/src/store/automations-contract.test.ts',
            'packages/server/src/store/recommendations-contract.test.ts',
            'packages/server/src/automations/scheduler.test.ts',
            'packages/server/src/automations/runner.test.ts',
            'packages/server/src/automations/ingest-triggers.test.ts',
            'packages/server/src/automations/nodes.test.ts',
            'packages/server/src/automations/send-gate.test.ts',
            'packages/server/src/automations/mail.test.ts',
            'packages/server/src/automations/offer-action.test.ts',
            'packages/server/src/automations/routes.test.ts',
            'packages/server/src/store/postgres/**/*.test.ts',
            'packages/server/src/{collect,decisions,events,identity,profiles,sites}/routes.test.ts',
            'packages/server/src/collect/wire-fixture.test.ts',
            'packages/server/src/collect/pixel.test.ts',
            'packages/server/src/collect/redirect.test.ts',
            'packages/server/src/sites/retention.test.ts',
            'packages/server/src/identity/hijack.test.ts',
            'packages/server/src/identity/guardrails.test.ts',
            'packages/server/src/identity/merge-split.test.ts',
            'packages/server/src/identity/cookieless.test.ts',
            'packages/server/src/profiles/export-erasure.test.ts',
            'packages/server/src/console/{access,overview,pages,automations}.test.ts',
            'packages/server/src/store/copy.test.ts',
            'packages/node/src/real-server.test.ts',
            'packages/server/src/reports/rollups.test.ts',
            'packages/server/src/reports/{funnel,cohorts}.test.ts',
            'packages/server/src/console/report-pages.test.ts',
            'packages/server/src/self-service/routes.test.ts',
            'packages/server/src/recommendations/product-routes.test.ts',
            'packages/server/src/recommendations/routes.test.ts',
            'packages/server/src/recommendations/trainer.test.ts',
            'packages/server/src/console/products.test.ts',
          ],
          globalSetup: ['packages/server/src/test-support/postgres-global-setup.ts'],
          env: { RAPPORT_TEST_STORE: 'postgres' },
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
