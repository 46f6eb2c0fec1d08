// The shared tokenizer vectors (tokenizer-vectors.json) through the page's JavaScript tokenizer, in Node; the C#
// side reads the same file (PlaygroundTokenizerTests). Prints one line per failing case and exits 1 if any failed.
import { readFileSync } from 'node:fs';
import { encode, lookupTable } from '../../src/Visualization/Playground/tokenizer.js';

const vectors = JSON.parse(readFileSync(new URL('./tokenizer-vectors.json', import.meta.url), 'utf8'));
const table = lookupTable(vectors.vocabulary, vectors.specialTokens);
let failed = 0;
for (const c of vectors.cases) {
  const text = c.utf16 ? String.fromCharCode(...c.utf16) : c.text;
  const options = { specialTokens: vectors.specialTokens, normalize: c.normalize, lowerCase: c.lowerCase, maxLength: c.maxLength };
  const r = encode(text, options, table, c.addEos);
  if (JSON.stringify(r.ids) !== JSON.stringify(c.ids) || r.dropped !== c.dropped) {
    failed++;
    console.log(`FAIL ${c.name}: ids ${JSON.stringify(r.ids)} dropped ${r.dropped}, expected ${JSON.stringify(c.ids)} dropped ${c.dropped}`);
  }
}
console.log(`${vectors.cases.length - failed}/${vectors.cases.length} cases agree`);
process.exit(failed === 0 ? 0 : 1);
