// Shared by the chart tests: where the tools are, rendering the chart with one helm, and
// checking rendered objects against the Kubernetes schemas, offline. Tools come from
// scripts/install-chart-tools (a cache outside the tree); nothing here downloads.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const chartDir = path.join(repo, "charts/rdma-tools");
export const valuesDir = path.join(repo, "tests/chart/values");
export const toolsDir = process.env.RAILCHECK_CHART_TOOLS ||
  path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "railcheck-chart-tools");

const nodeDir = path.join(toolsDir, "node");
if (!fs.existsSync(path.join(nodeDir, "node_modules"))) {
  console.error(`chart tests: no node modules in ${nodeDir}; run scripts/install-chart-tools`);
  process.exit(1);
}
const require = createRequire(path.join(nodeDir, "package.json"));
export const yaml = require("js-yaml");

// The helm binary of a major version (3 or 4), checked to be that version.
export function helmPath(major) {
  const bin = path.join(toolsDir, `helm${major}`, "helm");
  if (!fs.existsSync(bin)) {
    console.error(`chart tests: ${bin} is missing; run scripts/install-chart-tools`);
    process.exit(1);
  }
  return bin;
}

// Helm keeps its caches and settings in a throw-away home, and never sees a cluster.
const helmHome = fs.mkdtempSync(path.join(os.tmpdir(), "railcheck-helm-"));
process.on("exit", () => fs.rmSync(helmHome, { recursive: true, force: true }));
const helmEnv = {
  ...process.env,
  HELM_CACHE_HOME: path.join(helmHome, "cache"),
  HELM_CONFIG_HOME: path.join(helmHome, "config"),
  HELM_DATA_HOME: path.join(helmHome, "data"),
  KUBECONFIG: path.join(helmHome, "no-kubeconfig"),
};

export function runHelm(helm, args) {
  const r = spawnSync(helm, args, { env: helmEnv, encoding: "utf8", maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// Renders the chart (release "rel" in namespace "rdma") and returns its objects.
export function render(helm, { values = [], set = [], chart = chartDir } = {}) {
  const args = ["template", "rel", chart, "--namespace", "rdma"];
  for (const v of values) args.push("-f", v);
  for (const s of set) args.push("--set", s);
  const r = runHelm(helm, args);
  if (r.status !== 0) throw new Error(`helm ${args.join(" ")} failed:\n${r.stderr}`);
  return { text: r.stdout, objects: yaml.loadAll(r.stdout).filter((o) => o != null) };
}

// NOTES.txt as `helm install` would print it. helm 3 renders NOTES only when installing
// (which needs a cluster), so a copy of the chart renders it into a ConfigMap instead.
export function renderNotes(helm, opts = {}) {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), "railcheck-notes-"));
  try {
    fs.cpSync(chartDir, copy, { recursive: true });
    fs.mkdirSync(path.join(copy, "notes"));
    fs.renameSync(path.join(copy, "templates/NOTES.txt"), path.join(copy, "notes/NOTES.txt"));
    fs.writeFileSync(path.join(copy, "templates/zz-notes.yaml"),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: |\n' +
      '{{ tpl (.Files.Get "notes/NOTES.txt") . | indent 4 }}\n');
    const { objects } = render(helm, { ...opts, chart: copy });
    return objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === "notes").data.notes;
  } finally {
    fs.rmSync(copy, { recursive: true, force: true });
  }
}

// apiVersion/kind -> [module, class] of kubernetes-models.
const models = {
  "v1/Secret": ["kubernetes-models/v1/Secret", "Secret"],
  "v1/Service": ["kubernetes-models/v1/Service", "Service"],
  "v1/ConfigMap": ["kubernetes-models/v1/ConfigMap", "ConfigMap"],
  "apps/v1/DaemonSet": ["kubernetes-models/apps/v1/DaemonSet", "DaemonSet"],
  "batch/v1/Job": ["kubernetes-models/batch/v1/Job", "Job"],
  "batch/v1/CronJob": ["kubernetes-models/batch/v1/CronJob", "CronJob"],
  "monitoring.coreos.com/v1/ServiceMonitor":
    ["@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor", "ServiceMonitor"],
};

function modelOf(obj) {
  const m = models[`${obj.apiVersion}/${obj.kind}`];
  if (!m) throw new Error(`no schema known for ${obj.apiVersion} ${obj.kind} (add it to tests/chart/lib.mjs)`);
  return m;
}

// Types, required fields, enums and formats, per the OpenAPI schema; throws with the path.
export function validateSchema(obj) {
  const [mod, cls] = modelOf(obj);
  const Model = require(mod)[cls];
  try {
    new Model(obj).validate();
  } catch (e) {
    throw new Error(`${obj.kind} ${obj.metadata?.name}: ${e.message}`);
  }
}

// Field names: the schemas above allow unknown fields (a misspelt `securitycontext` would
// pass and be dropped by the API server), the models' TypeScript types do not. Every object
// becomes a typed literal; tsc reports each unknown field with its line. Returns the errors.
export function strictFieldErrors(entries) {
  const work = fs.mkdtempSync(path.join(nodeDir, ".strict-"));
  try {
    const lines = [];
    const imports = new Set();
    entries.forEach(({ label, obj }, i) => {
      const [mod, cls] = modelOf(obj);
      imports.add(`import type { I${cls} } from "${mod}";`);
      lines.push(`// ${label}`, `export const o${i}: I${cls} = ${JSON.stringify(obj, null, 2)};`);
    });
    fs.writeFileSync(path.join(work, "objects.ts"), [...imports, ...lines].join("\n") + "\n");
    const tsc = path.join(nodeDir, "node_modules/typescript/bin/tsc");
    const r = spawnSync(process.execPath, [tsc, "--noEmit", "--strict", "--skipLibCheck",
      "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2020",
      "objects.ts"], { cwd: work, encoding: "utf8" });
    if (r.status === 0) return [];
    // Map "objects.ts(LINE,COL): error ..." back to the object it is in.
    const text = fs.readFileSync(path.join(work, "objects.ts"), "utf8").split("\n");
    const errors = (r.stdout + r.stderr).split("\n").filter((l) => l.includes("error TS"));
    if (errors.length === 0) return [`tsc failed (exit ${r.status}): ${r.stdout}${r.stderr}${r.error || ""}`];
    return errors.map((l) => {
      const m = /^objects\.ts\((\d+),\d+\): (.*)$/.exec(l);
      if (!m) return l;
      const line = Number(m[1]);
      let label = "?";
      for (let k = line - 1; k >= 0; k--) {
        if (text[k].startsWith("// ")) { label = text[k].slice(3); break; }
      }
      return `${label}: line ${line} (${text[line - 1].trim()}): ${m[2]}`;
    });
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

// A tiny reporter: one "ok"/"not ok" line per check, the failures explained, a count.
export class Checks {
  constructor(name) { this.name = name; this.failed = 0; this.passed = 0; }
  check(what, fn) {
    try {
      const r = fn();
      if (r === false) throw new Error("condition is false");
      this.passed++;
      console.log(`ok - ${what}`);
    } catch (e) {
      this.failed++;
      console.log(`not ok - ${what}`);
      console.log(String(e.message || e).split("\n").map((l) => `  # ${l}`).join("\n"));
    }
  }
  finish() {
    console.log(`${this.name}: ${this.passed} checks passed, ${this.failed} failed`);
    process.exit(this.failed ? 1 : 0);
  }
}

export function listValuesFiles() {
  return fs.readdirSync(valuesDir).filter((f) => f.endsWith(".yaml")).sort();
}

export function loadValuesFile(file) {
  return yaml.load(fs.readFileSync(path.join(valuesDir, file), "utf8")) || {};
}
