#!/usr/bin/env node
// Writes src/referrers.generated.ts from the YAML under data/.
//   node scripts/build-data.mjs          regenerate
//   node scripts/build-data.mjs --check  exit 1 if the generated file is stale
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { convertReferrerData } from './convert.mjs';

const pkg = new URL('../', import.meta.url);
const read = (path) => readFileSync(new URL(path, pkg), 'utf8');
const target = fileURLToPath(new URL('src/referrers.generated.ts', pkg));

const { source, counts, warnings } = convertReferrerData({
  searchEngines: read('data/matomo/SearchEngines.yml'),
  socials: read('data/matomo/Socials.yml'),
  aiAssistants: read('data/matomo/AIAssistants.yml'),
  additions: read('data/rapport-additions.yml'),
});
for (const warning of warnings) console.warn(`warning: ${warning}`);

if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // a missing file is stale too
  }
  if (current !== source) {
    console.error('src/referrers.generated.ts is stale: run `npm run data -w @rapport/referrer`');
    process.exit(1);
  }
  console.log('src/referrers.generated.ts is up to date');
} else {
  writeFileSync(target, source);
  console.log(`wrote src/referrers.generated.ts: ${JSON.stringify(counts)}`);
}
