// Builds the browser SDK: an ESM module with .d.ts types for bundlers, the script-tag bundle
// that the server serves as /sdk.js (resolved through `@rapport/sdk/script`), and beside it the
// product cards module /sdk-cards.js. Tests import this config too (the size test,
// e2e/global-setup.ts), so paths do not depend on the working directory.
import { fileURLToPath } from 'node:url';
import nodeResolve from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';
import typescript from '@rollup/plugin-typescript';

const sdk = fileURLToPath(new URL('./packages/sdk', import.meta.url));
const tsconfig = `${sdk}/tsconfig.json`;

export default [
  {
    // For bundlers: dependencies stay imports, so that an application carries one copy of each.
    // @rapport/protocol resolves as the package (its dist, built by `tsc -b` before rollup), so
    // the emitted .d.ts files import its types by name instead of copying its sources.
    input: `${sdk}/src/index.ts`,
    output: { file: `${sdk}/dist/rapport.esm.js`, format: 'es', sourcemap: true },
    external: ['js-cookie', '@rapport/protocol'],
    plugins: [
      typescript({
        tsconfig,
        compilerOptions: {
          noEmit: false,
          paths: {},
          rootDir: 'src', // relative to the tsconfig, unlike outDir and declarationDir
          outDir: `${sdk}/dist`,
          declaration: true,
          declarationDir: `${sdk}/dist`,
        },
      }),
    ],
  },
  {
    // For the script tag: everything in one minified IIFE, protocol constants included (read
    // from the protocol's sources through the tsconfig's paths, hence the wider rootDir). The
    // sourceRoot makes the source map name the real files: without it TypeScript's paths are
    // relative to its virtual output folder, two levels deeper than the sources.
    input: `${sdk}/src/script-tag.ts`,
    output: { file: `${sdk}/dist/sdk.js`, format: 'iife', sourcemap: true },
    plugins: browser(),
  },
  {
    // The product cards, served as /sdk-cards.js beside /sdk.js: an ES module that the slots
    // import only when an offer is recommendations, so that the script tag does not carry it.
    input: `${sdk}/src/cards.ts`,
    output: { file: `${sdk}/dist/sdk-cards.js`, format: 'es', sourcemap: true },
    plugins: browser(),
  },
];

// Minified builds for browsers, one set of plugin instances each.
function browser() {
  return [
    nodeResolve({ browser: true }),
    typescript({
      tsconfig,
      compilerOptions: { noEmit: false, rootDir: '..', outDir: `${sdk}/dist`, sourceRoot: `${sdk}/..` },
    }),
    terser({ compress: { passes: 2 }, format: { comments: false } }),
  ];
}
