// @vitest-environment node
// The script-tag build must stay within 6 KB min+gzip, slots included: a guest on someone else's
// page pays for every byte on every visit. Built in memory from the root rollup config, so the
// test needs no prior build and measures exactly what `npm run build` ships as dist/sdk.js.
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { rollup, type OutputOptions, type RollupOptions } from 'rollup';
import { expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs config without type declarations.
import configs from '../../../rollup.config.mjs';

export const BUDGET_BYTES = 6 * 1024;

it(`keeps dist/sdk.js under ${BUDGET_BYTES} bytes min+gzip`, { timeout: 60_000 }, async () => {
  const config = (configs as RollupOptions[]).find((c) =>
    String((c.output as OutputOptions).file).endsWith('/sdk.js'),
  )!;
  const bundle = await rollup({ ...config, onwarn: () => {} });
  const { output } = await bundle.generate(config.output as OutputOptions);
  await bundle.close();
  const code = Buffer.from(output[0].code);
  const gzip = gzipSync(code, { level: 9 }).length;
  const brotli = brotliCompressSync(code, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  console.info(`dist/sdk.js: ${code.length} B minified, ${gzip} B gzip, ${brotli} B brotli`);
  expect(gzip).toBeLessThanOrEqual(BUDGET_BYTES);
  // Nothing that only helps during development: no logging.
  expect(code.toString()).not.toMatch(/console\./);
});
