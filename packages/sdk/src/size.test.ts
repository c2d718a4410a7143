// @vitest-environment node
// The script-tag build must stay within 6 KB min+gzip, slots included: a guest on someone else's
// page pays for every byte on every visit. The product cards module that the slots import for
// recommendations has a budget of its own. Built in memory from the root rollup config, so the
// tests need no prior build and measure exactly what `npm run build` ships in dist/.
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { rollup, type OutputOptions, type RollupOptions } from 'rollup';
import { expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs config without type declarations.
import configs from '../../../rollup.config.mjs';

export const BUDGET_BYTES = 6 * 1024;
export const CARDS_BUDGET_BYTES = 2 * 1024;

const build = async (file: string) => {
  const config = (configs as RollupOptions[]).find((c) =>
    String((c.output as OutputOptions).file).endsWith('/' + file),
  )!;
  const bundle = await rollup({ ...config, onwarn: () => {} });
  const { output } = await bundle.generate(config.output as OutputOptions);
  await bundle.close();
  const code = Buffer.from(output[0].code);
  const gzip = gzipSync(code, { level: 9 }).length;
  const brotli = brotliCompressSync(code, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  console.info(`dist/${file}: ${code.length} B minified, ${gzip} B gzip, ${brotli} B brotli`);
  return { code: code.toString(), gzip };
};

it(`keeps dist/sdk.js under ${BUDGET_BYTES} bytes min+gzip`, { timeout: 60_000 }, async () => {
  const { code, gzip } = await build('sdk.js');
  expect(gzip).toBeLessThanOrEqual(BUDGET_BYTES);
  // Nothing that only helps during development: no logging.
  expect(code).not.toMatch(/console\./);
  // The cards are imported when needed, not bundled.
  expect(code).toContain('/sdk-cards.js');
  expect(code).not.toContain('rapport-card__');
});

it(`keeps dist/sdk-cards.js under ${CARDS_BUDGET_BYTES} bytes min+gzip`, { timeout: 60_000 }, async () => {
  const { code, gzip } = await build('sdk-cards.js');
  expect(gzip).toBeLessThanOrEqual(CARDS_BUDGET_BYTES);
  expect(code).not.toMatch(/console\./);
  // A module of its own: it adds no global and needs nothing of the main bundle.
  expect(code).toMatch(/export\s*\{\s*\w+ as renderCards\s*\}/);
  expect(code).not.toMatch(/\bimport\b/);
});
