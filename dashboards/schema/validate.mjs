// Validates Grafana dashboard JSON files against the schemas generate.mjs
// derived from @grafana/schema:
//
//   - the whole file against the Dashboard type (each top-level panel
//     against the branch of Panel | RowPanel its type selects);
//   - schemaVersion equal to the one @grafana/schema's defaultDashboard
//     carries (the current one for that Grafana version);
//   - every panel's type has a generated schema, and its `options` match
//     that panel type's Options;
//   - `fieldConfig.defaults.custom` matches the panel type's FieldConfig;
//   - every field override property: `custom.<key>` against the panel's
//     FieldConfig.<key>, any other id against the Dashboard FieldConfig.<id>.
//
//   node validate.mjs FILE...
//
// Prints one line per problem ("FILE: /json/pointer: message") and exits 1
// if there is any; prints "ok FILE" for each valid file.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';
import { defaultDashboard } from '@grafana/schema';

const here = dirname(fileURLToPath(import.meta.url));
const load = (name) => JSON.parse(readFileSync(join(here, 'generated', name), 'utf8'));

// strict: false because the generated schemas carry annotations (such as
// "deprecated") that are not draft-07 keywords.
const ajv = new Ajv({ allErrors: true, strict: false });

const dashboardSchema = load('dashboard.schema.json');
const validateDashboard = ajv.compile(dashboardSchema);

// partial returns a validator for an object holding some properties of the
// root definition of schema (no required properties, none unknown): the
// shape of one override property.
function partial(schema) {
  const root = schema.$ref.split('/').pop();
  const copy = structuredClone(schema);
  delete copy.definitions[root].required;
  return ajv.compile(copy);
}

// definition is a schema for one definition of the Dashboard schema.
const definition = (name) => ({
  $schema: dashboardSchema.$schema,
  $ref: `#/definitions/${name}`,
  definitions: dashboardSchema.definitions,
});
const validateFieldConfigPart = partial(definition('FieldConfig'));
// Top-level panels are Panel | RowPanel; checking each against its own
// branch gives the errors of that branch only.
const validatePanel = ajv.compile(definition('Panel'));
const validateRow = ajv.compile(definition('RowPanel'));

const panelSchemas = load('panels.schema.json');
const panelValidators = {};
for (const [type, s] of Object.entries(panelSchemas)) {
  if (type.startsWith('$')) continue;
  panelValidators[type] = {
    options: ajv.compile(s.options),
    custom: s.fieldConfig && ajv.compile(s.fieldConfig),
    customPart: s.fieldConfig && partial(s.fieldConfig),
  };
}

function report(problems, at, validate) {
  for (const e of validate.errors ?? []) {
    const extra = e.params?.additionalProperty ? ` (${e.params.additionalProperty})` : '';
    const line = `${at}${e.instancePath}: ${e.message}${extra}`;
    if (!problems.includes(line)) problems.push(line);
  }
}

function checkPanel(problems, panel, at) {
  if (panel.type === 'row') {
    (panel.panels ?? []).forEach((p, i) => checkPanel(problems, p, `${at}/panels/${i}`));
    return;
  }
  const v = panelValidators[panel.type];
  if (!v) {
    problems.push(`${at}/type: no schema for panel type "${panel.type}" (add it to panelTypes in generate.mjs)`);
    return;
  }
  if (panel.options === undefined) {
    problems.push(`${at}/options: missing`);
  } else if (!v.options(panel.options)) {
    report(problems, `${at}/options`, v.options);
  }
  const custom = panel.fieldConfig?.defaults?.custom;
  if (custom !== undefined) {
    if (!v.custom) {
      problems.push(`${at}/fieldConfig/defaults/custom: panel type "${panel.type}" has no custom field config`);
    } else if (!v.custom(custom)) {
      report(problems, `${at}/fieldConfig/defaults/custom`, v.custom);
    }
  }
  (panel.fieldConfig?.overrides ?? []).forEach((o, i) => {
    (o.properties ?? []).forEach((prop, j) => {
      const where = `${at}/fieldConfig/overrides/${i}/properties/${j}`;
      if (prop.id.startsWith('custom.')) {
        const key = prop.id.slice('custom.'.length);
        if (!v.customPart) {
          problems.push(`${where}/id: panel type "${panel.type}" has no custom field config`);
        } else if (!v.customPart({ [key]: prop.value })) {
          report(problems, `${where} (${prop.id})`, v.customPart);
        }
      } else if (!validateFieldConfigPart({ [prop.id]: prop.value })) {
        report(problems, `${where} (${prop.id})`, validateFieldConfigPart);
      }
    });
  });
}

let failed = false;
const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node validate.mjs FILE...');
  process.exit(2);
}
for (const file of files) {
  const problems = [];
  let dashboard;
  try {
    dashboard = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    problems.push(`: ${err.message}`);
  }
  if (dashboard !== undefined) {
    const panels = Array.isArray(dashboard?.panels) ? dashboard.panels : [];
    const withoutPanels = Array.isArray(dashboard?.panels) ? { ...dashboard, panels: [] } : dashboard;
    if (!validateDashboard(withoutPanels)) {
      report(problems, '', validateDashboard);
    }
    if (dashboard?.schemaVersion !== defaultDashboard.schemaVersion) {
      problems.push(`/schemaVersion: ${dashboard?.schemaVersion}, want ${defaultDashboard.schemaVersion} (current in @grafana/schema)`);
    }
    panels.forEach((p, i) => {
      const v = p?.type === 'row' ? validateRow : validatePanel;
      if (!v(p)) {
        report(problems, `/panels/${i}`, v);
      }
      if (p !== null && typeof p === 'object') {
        checkPanel(problems, p, `/panels/${i}`);
      }
    });
  }
  for (const p of problems) {
    console.log(`${file}: ${p}`);
  }
  if (problems.length > 0) {
    failed = true;
  } else {
    console.log(`ok ${file}`);
  }
}
process.exit(failed ? 1 : 0);
