// Parses every .bicep (and .bicepparam) file under the given folders with
// the tree-sitter Bicep grammar and reports each syntax error with its
// place. Exit status 1 when any file has one.
//
//   node tools/bicep/check.mjs infra
import { Parser, Language } from 'web-tree-sitter';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

function files(path) {
  if (statSync(path).isFile()) return [path];
  return readdirSync(path).sort().flatMap((name) => {
    const p = join(path, name);
    if (statSync(p).isDirectory()) return files(p);
    return /\.bicep$/.test(name) ? [p] : [];
  });
}

function errors(node, out) {
  if (node.isMissing) {
    out.push({ at: node.startPosition, what: `missing ${node.type}` });
  } else if (node.type === 'ERROR') {
    out.push({ at: node.startPosition, what: `unexpected ${JSON.stringify(node.text.slice(0, 40))}` });
  }
  if (node.hasError) {
    for (const child of node.children) errors(child, out);
  }
  return out;
}

await Parser.init();
const parser = new Parser();
parser.setLanguage(await Language.load(require.resolve('tree-sitter-bicep/tree-sitter-bicep.wasm')));

const all = process.argv.slice(2).flatMap(files);
if (all.length === 0) {
  console.error('no .bicep files found in', process.argv.slice(2).join(' '));
  process.exit(1);
}
let bad = 0;
for (const f of all) {
  for (const e of errors(parser.parse(readFileSync(f, 'utf8')).rootNode, [])) {
    console.error(`${f}:${e.at.row + 1}:${e.at.column + 1}: syntax error: ${e.what}`);
    bad++;
  }
}
if (bad > 0) process.exit(1);
console.log(`bicep: ${all.length} files parse without errors`);
