// Dumps Decap CMS's config schema (decap-cms-core src/constants/configSchema.js) as JSON,
// with the schemas of the widgets crmgen uses registered, as Decap registers them.
import fs from 'node:fs';
const frontmatterFormats = ['yaml-frontmatter', 'toml-frontmatter', 'json-frontmatter'];
const extensionFormatters = {yml: 1, yaml: 1, toml: 1, json: 1, md: 1, markdown: 1, html: 1};
const I18N_STRUCTURE = {MULTIPLE_FOLDERS: 'multiple_folders', MULTIPLE_FILES: 'multiple_files', SINGLE_FILE: 'single_file'};
const I18N_FIELD = {TRANSLATE: 'translate', DUPLICATE: 'duplicate', NONE: 'none'};
const widgets = [];
for (const name of ['string', 'text', 'boolean', 'number', 'datetime', 'select', 'relation', 'file', 'markdown', 'list', 'object']) {
  const file = `./w/${name}/package/src/schema.js`;
  let schema;
  if (fs.existsSync(file)) schema = (await import(file)).default;
  widgets.push({ name, schema });
}
const getWidgets = () => widgets;
let n = 0;
const crypto = { randomUUID: () => `${++n}` };
const body = fs.readFileSync('./cs_body.js', 'utf8');
const getConfigSchema = new Function('frontmatterFormats', 'extensionFormatters', 'getWidgets', 'I18N_STRUCTURE', 'I18N_FIELD', 'crypto',
  body + '\nreturn getConfigSchema;')(frontmatterFormats, extensionFormatters, getWidgets, I18N_STRUCTURE, I18N_FIELD, crypto);
// ajv-keywords' select/selectCases -> standard if/then on the field's widget; instanceof RegExp
// cannot come from YAML or JSON -> false; uniqueItemProperties is kept (the test checks it).
function convert(node) {
  if (Array.isArray(node)) return node.map(convert);
  if (node === undefined) return true;
  if (node === null || typeof node !== 'object') return node;
  if (node.instanceof === 'RegExp') return false;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'select') continue;
    if (k === 'selectCases') {
      out.allOf = Object.entries(v).filter(([, s]) => s !== undefined).map(([name, s]) => ({
        if: { properties: { widget: { const: name } }, required: ['widget'] }, then: convert(s) }));
      continue;
    }
    out[k] = convert(v);
  }
  return out;
}
const schema = { $schema: 'http://json-schema.org/draft-07/schema#', ...convert(getConfigSchema()) };
process.stdout.write(JSON.stringify(schema, null, 2) + '\n');
