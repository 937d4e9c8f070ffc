// Copies the files the build does not compile (the web page under src/web/public, the eval checker's
// Python worker under src/eval/python) into dist, so that
// `npm run build` output serves the page without any other step.
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const assets = [
  ['src/web/public', 'dist/web/public'],
  ['src/eval/python', 'dist/eval/python'],
];

for (const [from, to] of assets) {
  const src = path.join(root, from);
  const dest = path.join(root, to);
  fs.rmSync(dest, { recursive: true, force: true });
  fs.cpSync(src, dest, { recursive: true });
  process.stdout.write(`copied ${from} → ${to}\n`);
}
