// globalSetup of the vitest project `postgres`: starts one fast throwaway cluster for the whole
// run and gives its base URL to the test files, both as process.env.RAPPORT_TEST_PG_URL (set
// here, before the workers start, so they and anything they spawn inherit it) and through
// project.provide('pgUrl') (read with inject('pgUrl')); testPostgresUrl() reads either.
// No PostgreSQL installed: under CI=true that fails the run (a missing database is a failure in
// CI, never a skip); elsewhere one notice, and describePostgres() skips those tests.
import type { TestProject } from 'vitest/node';
import { postgresAvailable, postgresMissingMessage, startPostgres, TEST_PG_URL_ENV } from './postgres.js';

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | void> {
  if (!postgresAvailable()) {
    if (process.env.CI === 'true') {
      throw new Error(`The postgres tests need PostgreSQL, and CI=true: ${postgresMissingMessage()}`);
    }
    console.warn(`postgres tests skipped: ${postgresMissingMessage()}`);
    return;
  }
  const cluster = await startPostgres({ fastUnsafe: true });
  const previous = process.env[TEST_PG_URL_ENV];
  process.env[TEST_PG_URL_ENV] = cluster.url;
  project.provide('pgUrl', cluster.url);
  return async () => {
    if (previous === undefined) delete process.env[TEST_PG_URL_ENV];
    else process.env[TEST_PG_URL_ENV] = previous;
    await cluster.stop();
  };
}
