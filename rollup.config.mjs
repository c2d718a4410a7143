// Builds the browser SDK: an ESM module for bundlers and the script-tag bundle served at /sdk.js.
import nodeResolve from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';
import typescript from '@rollup/plugin-typescript';

const plugins = () => [
  nodeResolve({ browser: true }),
  typescript({ tsconfig: 'packages/sdk/tsconfig.json', compilerOptions: { declaration: false, declarationMap: false } }),
];

export default [
  {
    input: 'packages/sdk/src/index.ts',
    output: { file: 'packages/sdk/dist/rapport.esm.js', format: 'es', sourcemap: true },
    external: ['js-cookie'],
    plugins: plugins(),
  },
  {
    input: 'packages/sdk/src/script-tag.ts',
    output: { file: 'packages/sdk/dist/rapport.min.js', format: 'iife', sourcemap: true },
    plugins: [...plugins(), terser({ compress: { passes: 2 }, format: { comments: false } })],
  },
];
