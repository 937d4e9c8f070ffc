/**
 * The import directions are written twice on purpose: as prose for people (docs/architecture.md) and as a
 * lint rule for CI (eslint.config.js). This test keeps the two the same, and makes sure every top-level
 * folder of src/ has a row, so a new folder cannot slip in without deciding what it may import.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const eslintConfig = path.join(root, 'eslint.config.js');
const { LAYERS: layers } = (await import(eslintConfig)) as { LAYERS: Record<string, string[]> };

function docRows(): Map<string, string[]> {
  const doc = fs.readFileSync(path.join(root, 'docs/architecture.md'), 'utf8');
  const rows = new Map<string, string[]>();
  for (const line of doc.split('\n')) {
    const m = /^\|\s*`([a-z]+)\/`\s*\|[^|]*\|([^|]*)\|\s*$/.exec(line);
    if (!m?.[1] || m[2] === undefined) continue;
    const allowed = m[2]
      .replace(/\(.*?\)/g, '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s && s !== 'nothing of June' && s !== 'anything');
    rows.set(m[1], allowed);
  }
  return rows;
}

describe('architecture', () => {
  it('gives every top-level folder of src/ a layer rule and a row in docs/architecture.md', () => {
    const folders = fs
      .readdirSync(path.join(root, 'src'), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
    const rows = docRows();
    for (const folder of folders) {
      expect(rows.has(folder), `docs/architecture.md has no row for src/${folder}`).toBe(true);
      if (folder !== 'cli')
        expect(Object.keys(layers), `eslint.config.js has no layer for ${folder}`).toContain(folder);
    }
  });

  it('documents exactly the import directions that lint enforces', () => {
    const rows = docRows();
    for (const [folder, allowed] of Object.entries(layers)) {
      expect([...(rows.get(folder) ?? [])].sort(), `src/${folder}`).toEqual([...allowed].sort());
    }
    expect(rows.get('cli')).toEqual([]);
  });

  it('lets no layer import a layer that imports it back', () => {
    for (const [folder, allowed] of Object.entries(layers)) {
      for (const dep of allowed) {
        const back = layers[dep.split('/')[0] ?? ''] ?? [];
        expect(back, `${folder} and ${dep} import each other`).not.toContain(folder);
      }
    }
  });
});
