// The `helm test` Job's coordinator container as the chart renders it, for tests that run
// that container's command themselves (tests/lab/cluster_lab_test.cpp): prints one JSON
// object {"args": [...], "env": {NAME: value}} to stdout. Renders with helm (tools of
// scripts/install-chart-tools; nothing is downloaded), release "rel" in namespace "rdma".
// Usage: node job_args.mjs [--helm 3|4] [--values FILE]... [--set K=V]...
import { helmPath, render } from "./lib.mjs";

const opt = { helm: "3", values: [], set: [] };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const val = () => {
    if (i + 1 >= argv.length) {
      console.error(`job_args.mjs: ${a} needs a value`);
      process.exit(2);
    }
    return argv[++i];
  };
  if (a === "--helm") opt.helm = val();
  else if (a === "--values") opt.values.push(val());
  else if (a === "--set") opt.set.push(val());
  else {
    console.error(`job_args.mjs: unknown argument ${a}\nusage: node job_args.mjs [--helm 3|4] [--values FILE]... [--set K=V]...`);
    process.exit(2);
  }
}

const { objects } = render(helmPath(opt.helm), { values: opt.values, set: opt.set });
const job = objects.find((o) => o.kind === "Job" && o.metadata.annotations?.["helm.sh/hook"] === "test");
if (!job) {
  console.error("job_args.mjs: the rendering has no helm test Job (test.enabled false?)");
  process.exit(1);
}
const c = job.spec.template.spec.containers.find((x) => x.name === "coordinator");
const env = Object.fromEntries((c.env || []).filter((e) => "value" in e).map((e) => [e.name, e.value]));
process.stdout.write(JSON.stringify({ args: c.args, env }) + "\n");
