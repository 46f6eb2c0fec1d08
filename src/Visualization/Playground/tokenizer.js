// The playground's tokenizer: text -> token ids exactly as the exported model's scoring pipeline prepares them
// (CodePoints.Encode, then the graph's vocabulary lookup and cut). An ES module with no DOM use, so the page and
// Node run the same code; tests/web/tokenizer-vectors.json holds it to the C# side.

/** Options of a model: `vocabulary` (token strings, index = id), `specialTokens` ({pad, bos, eos, unk}),
 *  `normalize` (NFC), `lowerCase` and `maxLength` (the most ids in a row, <BOS> included). */

/**
 * The Unicode scalar values of `text`: NFC (when `normalize`) over each run of well-formed text between lone
 * surrogates, then each value lower-cased on its own (when `lowerCase`); a lone surrogate gives -1.
 * Lower-casing one scalar at a time keeps a final sigma a plain sigma, as .NET's Rune.ToLowerInvariant does (simple
 * case mapping: the first scalar of JavaScript's full mapping), and like .NET's invariant casing it leaves U+0130
 * (capital I with dot above) as it is.
 */
export function scalars(text, normalize, lowerCase) {
  const out = [];
  let run = '';
  const flush = () => {
    if (run.length === 0) return;
    for (const ch of normalize ? run.normalize('NFC') : run) {
      out.push(lowerCase ? lower(ch) : ch.codePointAt(0));
    }
    run = '';
  };
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        run += text[i] + text[i + 1];
        i++;
        continue;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      flush();
      out.push(-1);
      continue;
    }
    run += text[i];
  }
  flush();
  return out;
}

/** One scalar value lower-cased as .NET's Rune.ToLowerInvariant does. */
function lower(ch) {
  const c = ch.codePointAt(0);
  return c === 0x130 ? c : ch.toLowerCase().codePointAt(0);
}

/** A lookup from scalar value to id for a vocabulary (special tokens first, then one character per id). */
export function lookupTable(vocabulary, specialTokens) {
  const table = new Map();
  const special = new Set([specialTokens.pad, specialTokens.bos, specialTokens.eos, specialTokens.unk]);
  for (let id = 0; id < vocabulary.length; id++) {
    if (!special.has(id)) table.set(vocabulary[id].codePointAt(0), id);
  }
  return table;
}

/**
 * Token ids of `text` for a model: <BOS>, one id per scalar value (<UNK> for a character outside the vocabulary or
 * a lone surrogate; <PAD> for a model without <UNK>, as the graph does), <EOS> last when `addEos` (a source row),
 * all cut to `maxLength` ids.
 * Returns { ids, scalars (after NFC and casing), dropped (characters cut off; 0 when the row fits) }.
 */
export function encode(text, options, table, addEos = false) {
  const { specialTokens: sp, normalize, lowerCase, maxLength } = options;
  const values = scalars(text, normalize, lowerCase);
  const unknown = sp.unk >= 0 ? sp.unk : sp.pad;
  const full = [sp.bos];
  for (const v of values) full.push(table.get(v) ?? unknown);
  if (addEos) full.push(sp.eos);
  const ids = full.slice(0, maxLength);
  return { ids, scalars: values, dropped: full.length - ids.length };
}
