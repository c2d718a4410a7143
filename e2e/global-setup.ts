// Runs once before the browser tests: builds the script-tag SDK and its cards module (so `npm
// test` needs no prior build: the test server serves packages/sdk/dist/sdk.js and sdk-cards.js)
// and makes sure Chromium is there.
// A missing browser is an error that says how to install it, never a silently skipped test.
import { existsSync } from 'node:fs';
import { rollup, type OutputOptions, type RollupOptions } from 'rollup';
// @ts-expect-error: a plain .mjs config without type declarations.
import configs from '../rollup.config.mjs';
import { chromiumPath } from './support/browser';

export default async function setup(): Promise<void> {
  const executable = chromiumPath();
  if (!existsSync(executable)) {
    throw new Error(
      `The browser tests need Chromium at ${executable}. Install it with \`apt-get install -y chromium\` ` +
        '(or point CHROMIUM_PATH at a Chromium or Chrome binary).',
    );
  }
  // Only what the browser loads: the script tag and the product cards module it imports; unlike
  // the ESM build they need nothing built before them.
  for (const config of (configs as RollupOptions[]).filter((c) => /\/sdk(-cards)?\.js$/.test(String((c.output as OutputOptions).file)))) {
    const bundle = await rollup({ ...config, onwarn: () => {} });
    await bundle.write(config.output as OutputOptions);
    await bundle.close();
  }
}
