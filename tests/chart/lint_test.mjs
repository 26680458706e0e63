// `helm lint --strict` with one helm (node lint_test.mjs 3|4): every values file of
// tests/chart/values lints clean; every file of tests/chart/bad-values fails lint and
// rendering, with a message matching each of its `# expect: REGEX` lines (case-insensitive)
// so that a user reads what is wrong and where.
import fs from "node:fs";
import path from "node:path";
import { Checks, chartDir, helmPath, listValuesFiles, repo, runHelm, valuesDir } from "./lib.mjs";

const major = process.argv[2];
if (major !== "3" && major !== "4") {
  console.error("usage: node lint_test.mjs 3|4");
  process.exit(2);
}
const helm = helmPath(major);
const t = new Checks(`lint (helm ${major})`);

t.check(`helm is version ${major}`, () => {
  const r = runHelm(helm, ["version", "--short"]);
  if (!r.stdout.startsWith(`v${major}.`)) throw new Error(`helm version --short: ${r.stdout}${r.stderr}`);
});

for (const f of listValuesFiles()) {
  t.check(`lints clean: values/${f}`, () => {
    const r = runHelm(helm, ["lint", "--strict", chartDir, "-f", path.join(valuesDir, f)]);
    const out = r.stdout + r.stderr;
    if (r.status !== 0) throw new Error(`exit ${r.status}:\n${out}`);
    const bad = out.split("\n").filter((l) => /\[(WARNING|ERROR)\]/.test(l));
    if (bad.length) throw new Error(bad.join("\n"));
  });
}

const badDir = path.join(repo, "tests/chart/bad-values");
const badFiles = fs.readdirSync(badDir).filter((f) => f.endsWith(".yaml")).sort();
t.check("there are bad values files", () => badFiles.length >= 5);
for (const f of badFiles) {
  const file = path.join(badDir, f);
  const expects = fs.readFileSync(file, "utf8").split("\n")
    .filter((l) => l.startsWith("# expect: ")).map((l) => new RegExp(l.slice(10), "i"));
  t.check(`bad-values/${f} names what it expects`, () => expects.length > 0);
  const lint = runHelm(helm, ["lint", "--strict", chartDir, "-f", file]);
  const out = lint.stdout + lint.stderr;
  t.check(`lint fails: bad-values/${f}`, () => {
    if (lint.status === 0) throw new Error(`lint passed:\n${out}`);
  });
  for (const re of expects) {
    t.check(`lint of bad-values/${f} says ${re}`, () => {
      if (!re.test(out)) throw new Error(`not in the output:\n${out}`);
    });
  }
  t.check(`template fails: bad-values/${f}`, () => {
    const r = runHelm(helm, ["template", "rel", chartDir, "-f", file]);
    if (r.status === 0) throw new Error("helm template rendered it");
  });
}

t.finish();
