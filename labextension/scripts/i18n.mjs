#!/usr/bin/env node
/*
 * The panel's translations, without extra tools.
 *
 *   node scripts/i18n.mjs extract   src/*.ts -> ../sm_magics/locale/sm_magics.pot
 *   node scripts/i18n.mjs check     fails when a .po lacks (or has stale) strings of the sources
 *   node scripts/i18n.mjs compile   each .po -> its .json, the format jupyterlab_server serves
 *                                   for packages under the `jupyterlab.locale` entry point
 *
 * Only `trans.__('...')` and `trans._n('...', '...', n)` calls with literal
 * strings are extracted; keep translatable strings literal.
 */
import { readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const srcDir = join(root, 'src');
const localeDir = join(root, '..', 'sm_magics', 'locale');
const DOMAIN = 'sm_magics';
const PLURAL_FORMS = {
  fr_FR: 'nplurals=2; plural=(n > 1);',
  zh_TW: 'nplurals=1; plural=0;'
};

// ------------------------------------------------------------------ extraction

const LITERAL = String.raw`'((?:[^'\\\n]|\\.)*)'`;
const SINGULAR = new RegExp(String.raw`(?:\b|_)trans\.__\(\s*` + LITERAL, 'g');
const PLURAL = new RegExp(
  String.raw`(?:\b|_)trans\._n\(\s*` + LITERAL + String.raw`\s*,\s*` + LITERAL,
  'g'
);

function unescapeJs(s) {
  return s.replace(/\\(u\{[0-9a-fA-F]+\}|u[0-9a-fA-F]{4}|.)/g, (_, c) => {
    if (c[0] === 'u' && c.length > 1) {
      return String.fromCodePoint(parseInt(c.replace(/[u{}]/g, ''), 16));
    }
    return { n: '\n', t: '\t', r: '\r' }[c] ?? c;
  });
}

/** Messages of the sources, in order: {id, plural?, refs: [file:line]}. */
function extract() {
  const messages = new Map();
  const files = readdirSync(srcDir)
    .filter(f => /\.tsx?$/.test(f))
    .sort();
  for (const file of files) {
    const text = readFileSync(join(srcDir, file), 'utf-8');
    const lineOf = index => text.slice(0, index).split('\n').length;
    const add = (id, plural, index) => {
      const key = id;
      const ref = `src/${file}:${lineOf(index)}`;
      const known = messages.get(key);
      if (known) {
        if ((known.plural ?? null) !== (plural ?? null)) {
          throw new Error(`${ref}: "${id}" is used both with and without a plural`);
        }
        known.refs.push(ref);
      } else {
        messages.set(key, { id, plural, refs: [ref] });
      }
    };
    for (const m of text.matchAll(SINGULAR)) {
      add(unescapeJs(m[1]), undefined, m.index);
    }
    for (const m of text.matchAll(PLURAL)) {
      add(unescapeJs(m[1]), unescapeJs(m[2]), m.index);
    }
  }
  return Array.from(messages.values());
}

// ------------------------------------------------------------------ .po files

function poQuote(s) {
  const escaped = s
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/\t/g, '\\t')
    .replace(/\n/g, '\\n');
  return `"${escaped}"`;
}

function poUnquote(s) {
  return s
    .slice(1, -1)
    .replace(/\\(.)/g, (_, c) => ({ n: '\n', t: '\t', r: '\r' })[c] ?? c);
}

/** Parses a .po file into {header, entries: [{id, plural, strs, fuzzy}]}. */
export function parsePo(text) {
  const entries = [];
  let entry = null;
  let field = null;
  const flush = () => {
    if (entry && entry.id !== undefined) {
      entries.push(entry);
    }
    entry = null;
    field = null;
  };
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '') {
      flush();
      continue;
    }
    if (line.startsWith('#')) {
      if (entry && entry.id !== undefined) {
        flush();
      }
      entry = entry ?? { strs: [], fuzzy: false };
      if (line.startsWith('#,') && line.includes('fuzzy')) {
        entry.fuzzy = true;
      }
      continue;
    }
    entry = entry ?? { strs: [], fuzzy: false };
    let m;
    if ((m = /^msgctxt\s+(".*")$/.exec(line))) {
      if (entry.id !== undefined) {
        flush();
        entry = { strs: [], fuzzy: false };
      }
      entry.ctxt = poUnquote(m[1]);
      field = ['ctxt'];
    } else if ((m = /^msgid\s+(".*")$/.exec(line))) {
      if (entry.id !== undefined) {
        flush();
        entry = { strs: [], fuzzy: false };
      }
      entry.id = poUnquote(m[1]);
      field = ['id'];
    } else if ((m = /^msgid_plural\s+(".*")$/.exec(line))) {
      entry.plural = poUnquote(m[1]);
      field = ['plural'];
    } else if ((m = /^msgstr\s+(".*")$/.exec(line))) {
      entry.strs[0] = poUnquote(m[1]);
      field = ['strs', 0];
    } else if ((m = /^msgstr\[(\d+)\]\s+(".*")$/.exec(line))) {
      entry.strs[Number(m[1])] = poUnquote(m[2]);
      field = ['strs', Number(m[1])];
    } else if (/^".*"$/.test(line) && field) {
      const more = poUnquote(line);
      if (field[0] === 'strs') {
        entry.strs[field[1]] += more;
      } else {
        entry[field[0]] += more;
      }
    } else {
      throw new Error(`cannot read .po line: ${raw}`);
    }
  }
  flush();
  const headerEntry = entries.find(e => e.id === '' && !e.ctxt);
  const header = {};
  for (const line of (headerEntry?.strs[0] ?? '').split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) {
      header[line.slice(0, i).trim()] = line.slice(i + 1).trim();
    }
  }
  return { header, entries: entries.filter(e => e !== headerEntry) };
}

function potText(messages) {
  const lines = [
    `# Strings of the sm_magics JupyterLab panel (labextension/src).`,
    `# Made by: node labextension/scripts/i18n.mjs extract`,
    'msgid ""',
    'msgstr ""',
    '"Project-Id-Version: sm_magics\\n"',
    '"MIME-Version: 1.0\\n"',
    '"Content-Type: text/plain; charset=UTF-8\\n"',
    '"Content-Transfer-Encoding: 8bit\\n"',
    ''
  ];
  for (const m of messages) {
    lines.push(`#: ${m.refs.join(' ')}`);
    lines.push(`msgid ${poQuote(m.id)}`);
    if (m.plural !== undefined) {
      lines.push(`msgid_plural ${poQuote(m.plural)}`);
      lines.push('msgstr[0] ""', 'msgstr[1] ""');
    } else {
      lines.push('msgstr ""');
    }
    lines.push('');
  }
  return lines.join('\n');
}

function poFiles() {
  return readdirSync(localeDir, { withFileTypes: true })
    .filter(d => d.isDirectory())
    .map(d => ({
      locale: d.name,
      po: join(localeDir, d.name, 'LC_MESSAGES', `${DOMAIN}.po`),
      json: join(localeDir, d.name, 'LC_MESSAGES', `${DOMAIN}.json`)
    }))
    .filter(f => existsSync(f.po));
}

// ------------------------------------------------------------------ commands

function check() {
  const messages = extract();
  const wanted = new Map(messages.map(m => [m.id, m]));
  let problems = 0;
  for (const { locale, po } of poFiles()) {
    const { entries } = parsePo(readFileSync(po, 'utf-8'));
    const have = new Map(entries.filter(e => !e.ctxt).map(e => [e.id, e]));
    for (const m of messages) {
      const e = have.get(m.id);
      if (!e || e.fuzzy || e.strs.length === 0 || e.strs.some(s => !s)) {
        console.error(`${locale}: missing or untranslated: ${JSON.stringify(m.id)}`);
        problems++;
      } else if ((e.plural ?? undefined) !== m.plural) {
        console.error(`${locale}: plural form differs: ${JSON.stringify(m.id)}`);
        problems++;
      }
    }
    for (const id of have.keys()) {
      if (!wanted.has(id)) {
        console.error(`${locale}: stale (not in the sources): ${JSON.stringify(id)}`);
        problems++;
      }
    }
  }
  if (problems > 0) {
    console.error(`${problems} problem(s)`);
    process.exit(1);
  }
  console.log(`translations complete: ${messages.length} messages`);
}

function compile() {
  const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf-8')).version;
  for (const { locale, po, json } of poFiles()) {
    const { header, entries } = parsePo(readFileSync(po, 'utf-8'));
    const pluralForms = header['Plural-Forms'] || PLURAL_FORMS[locale];
    if (!pluralForms) {
      throw new Error(`${po}: no Plural-Forms header`);
    }
    const data = {
      '': {
        domain: DOMAIN,
        // The front end keys its dictionary by this tag and looks it up with
        // the UI's language code, which uses a hyphen ("fr-FR").
        language: locale.replace('_', '-'),
        plural_forms: pluralForms,
        version
      }
    };
    for (const e of entries) {
      if (e.fuzzy || e.strs.length === 0 || e.strs.every(s => !s)) {
        continue; // untranslated: the English text shows
      }
      const key = e.ctxt ? `${e.ctxt}\u0004${e.id}` : e.id;
      if (e.plural !== undefined) {
        const strs = e.strs.slice();
        // JupyterLab takes a plural entry only when it has more than one
        // string (as its language packs do for one-form languages).
        while (strs.length < 2) {
          strs.push('');
        }
        data[key] = strs;
      } else {
        data[key] = [e.strs[0]];
      }
    }
    writeFileSync(json, JSON.stringify(data, null, 2) + '\n');
    console.log(`${json}: ${Object.keys(data).length - 1} messages`);
  }
}

const command = process.argv[2];
if (command === 'extract') {
  const out = join(localeDir, `${DOMAIN}.pot`);
  writeFileSync(out, potText(extract()));
  console.log(`${out} written`);
} else if (command === 'check') {
  check();
} else if (command === 'compile') {
  compile();
} else {
  console.error('usage: node scripts/i18n.mjs extract|check|compile');
  process.exit(2);
}
