import fs from 'fs';
import path from 'path';

// The three locale files against the code: every text the code translates is in each of them, they hold the same
// keys, and a translation keeps the key's {{placeholders}}. A text missing here shows up as English in a German
// or Chinese workspace, which no other test would notice.
const ROOT = path.resolve(__dirname, '../..');
const LANGUAGES = ['en-US', 'de-DE', 'zh-CN'];
const locale = (lang: string): Record<string, string> => JSON.parse(fs.readFileSync(path.join(ROOT, 'locale', `${lang}.json`), 'utf8'));

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(file);
    return /\.tsx?$/.test(entry.name) ? [file] : [];
  });
}

const withoutComments = (code: string) => code.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');

/** The literal first arguments of t(…) calls, and of the texts kept in tables for a later t(…). */
function translatedTexts(): Map<string, string> {
  const texts = new Map<string, string>();
  const call = /\bt\(\s*(['"])((?:\\.|(?!\1).)*)\1/g;
  const tabled = /\b(?:title|advice):\s*(['"])((?:\\.|(?!\1).)*)\1/g;
  for (const file of sourceFiles(path.join(ROOT, 'src'))) {
    const code = withoutComments(fs.readFileSync(file, 'utf8'));
    const patterns = file.endsWith('errorSummary.tsx') ? [call, tabled] : [call];
    for (const pattern of patterns) {
      for (const m of code.matchAll(pattern)) texts.set(m[2].replace(/\\(['"\\])/g, '$1'), path.relative(ROOT, file));
    }
  }
  return texts;
}

const placeholders = (text: string) => (text.match(/{{\s*[\w.]+\s*}}/g) ?? []).map((p) => p.replace(/\s/g, '')).sort();
// i18next's plural forms: Chinese has no "_one"
const isPluralOne = (key: string) => key.endsWith('_one');

describe('locale files', () => {
  it('hold every text the code translates, in all three languages', () => {
    const texts = translatedTexts();
    expect(texts.size).toBeGreaterThan(300);
    for (const lang of LANGUAGES) {
      const messages = locale(lang);
      const missing = [...texts].filter(([text]) => !(text in messages) && !(`${text}_other` in messages));
      expect({ lang, missing }).toEqual({ lang, missing: [] });
    }
  });

  it('hold the same keys, and each translation keeps the placeholders of its key', () => {
    const english = locale('en-US');
    for (const lang of LANGUAGES) {
      const messages = locale(lang);
      const expected = Object.keys(english).filter((key) => lang !== 'zh-CN' || !isPluralOne(key));
      expect({ lang, keys: Object.keys(messages).sort() }).toEqual({ lang, keys: expected.sort() });
      const changed = Object.entries(messages).filter(([key, value]) => placeholders(key.replace(/_(one|other)$/, '')).join() !== placeholders(value).join());
      expect({ lang, changed }).toEqual({ lang, changed: [] });
    }
  });
});
