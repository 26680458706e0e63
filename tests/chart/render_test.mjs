// `helm template` with one helm (node render_test.mjs 3|4) over every values file of
// tests/chart/values and a few --set variants: every object valid against the Kubernetes
// schemas (kubernetes-models) with no unknown field (their TypeScript types), and the fields
// that make the chart work asserted: the user's annotations, resources, affinity and
// tolerations untouched; IPC_LOCK and no privilege by default; the token Secret mounted in
// the agents and the coordinator; the downward API; the helm test hook and the
// coordinator's options; NOTES.txt.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {
  Checks, chartDir, helmPath, listValuesFiles, loadValuesFile, render, renderNotes, repo,
  strictFieldErrors, validateSchema, valuesDir, yaml,
} from "./lib.mjs";

const major = process.argv[2];
if (major !== "3" && major !== "4") {
  console.error("usage: node render_test.mjs 3|4");
  process.exit(2);
}
const helm = helmPath(major);
const t = new Checks(`render (helm ${major})`);
const chartDefaults = yaml.load(fs.readFileSync(path.join(chartDir, "values.yaml"), "utf8"));
const strictEntries = [];

const only = (objects, kind) => objects.filter((o) => o.kind === kind);
const one = (objects, kind) => {
  const all = only(objects, kind);
  assert.equal(all.length, 1, `expected one ${kind}, got ${all.length}`);
  return all[0];
};
const podSpec = (o) => (o.kind === "CronJob" ? o.spec.jobTemplate.spec.template.spec : o.spec.template.spec);
const container = (o, name) => podSpec(o).containers.find((c) => c.name === name);
const volume = (o, name) => podSpec(o).volumes.find((v) => v.name === name);
const mount = (c, name) => (c.volumeMounts || []).find((m) => m.name === name);
const envOf = (c, name) => (c.env || []).find((e) => e.name === name);
const argValue = (args, flag) => {
  const a = args.find((x) => x.startsWith(`${flag}=`));
  return a === undefined ? undefined : a.slice(flag.length + 1);
};

// What every rendering must hold, whatever the values.
function commonChecks(label, objects, values) {
  const ds = one(objects, "DaemonSet");
  const agent = container(ds, "agent");
  const svc = one(objects, "Service");
  const job = values.test?.enabled === false ? null : one(objects, "Job");
  const sc = agent.securityContext;
  const userSc = values.securityContext || {};

  t.check(`${label}: every object valid against its Kubernetes schema`, () => {
    for (const o of objects) validateSchema(o);
    for (const o of objects) strictEntries.push({ label: `${label}: ${o.kind} ${o.metadata.name}`, obj: o });
  });
  t.check(`${label}: objects in the release namespace`, () => {
    for (const o of objects) assert.equal(o.metadata.namespace, "rdma", `${o.kind} ${o.metadata.name}`);
  });
  t.check(`${label}: the pod annotations are extraAnnotations, untouched`, () => {
    assert.deepEqual(ds.spec.template.metadata.annotations, values.extraAnnotations);
  });
  t.check(`${label}: the agent's resources are the values', untouched`, () => {
    const want = { ...chartDefaults.resources, ...(values.resources || {}) };
    assert.deepEqual(agent.resources, want);
  });
  t.check(`${label}: affinity, nodeSelector and tolerations untouched`, () => {
    assert.deepEqual(podSpec(ds).affinity, values.affinity);
    assert.deepEqual(podSpec(ds).nodeSelector, values.nodeSelector || chartDefaults.nodeSelector);
    assert.deepEqual(podSpec(ds).tolerations, values.tolerations);
  });
  t.check(`${label}: hostNetwork follows hostnetwork`, () => {
    assert.equal(podSpec(ds).hostNetwork, values.hostnetwork === true);
  });
  t.check(`${label}: IPC_LOCK added once; privileged only when asked`, () => {
    assert.equal(sc.capabilities.add.filter((c) => c === "IPC_LOCK").length, 1, JSON.stringify(sc));
    if (userSc.privileged) {
      assert.equal(sc.privileged, true);
      assert.equal(sc.allowPrivilegeEscalation, undefined, "privileged excludes allowPrivilegeEscalation: false");
    } else {
      assert.equal(sc.privileged, undefined);
      assert.equal(sc.allowPrivilegeEscalation, false);
      assert.deepEqual(sc.capabilities.drop, ["ALL"]);
      assert.deepEqual(sc.capabilities.add, ["IPC_LOCK"]);
    }
  });
  t.check(`${label}: the downward API gives the annotations; NODE_NAME and POD_NAME set`, () => {
    const items = volume(ds, "podinfo").downwardAPI.items;
    assert.deepEqual(items.find((i) => i.path === "annotations").fieldRef, { fieldPath: "metadata.annotations" });
    assert.equal(mount(agent, "podinfo").mountPath, "/etc/podinfo");
    assert.equal(envOf(agent, "NODE_NAME").valueFrom.fieldRef.fieldPath, "spec.nodeName");
    assert.equal(envOf(agent, "POD_NAME").valueFrom.fieldRef.fieldPath, "metadata.name");
    assert.ok(agent.args.includes("--podinfo=/etc/podinfo"));
  });

  const secretName = values.auth?.existingSecret || `${ds.metadata.name}-token`;
  t.check(`${label}: the token Secret is mounted read-only in the agents`, () => {
    assert.equal(volume(ds, "token").secret.secretName, secretName);
    assert.deepEqual(mount(agent, "token"), { name: "token", mountPath: "/etc/railcheck/token", readOnly: true });
    assert.ok(agent.args.includes("--token-file=/etc/railcheck/token/token"));
  });
  t.check(`${label}: the Secret holds a random token (or the user's Secret is used)`, () => {
    const secrets = only(objects, "Secret");
    if (values.auth?.existingSecret) return assert.equal(secrets.length, 0);
    assert.equal(secrets.length, 1);
    assert.equal(secrets[0].metadata.name, secretName);
    const token = Buffer.from(secrets[0].data.token, "base64").toString();
    assert.match(token, /^[A-Za-z0-9]{48}$/);
  });

  const port = values.agent?.port || chartDefaults.agent.port;
  t.check(`${label}: the agent listens on the pod IP and the API port; probes on /healthz`, () => {
    assert.equal(agent.args[0], "agent");
    assert.ok(agent.args.includes(`--port=${port}`));
    assert.ok(agent.args.includes("--listen=$(POD_IP)"));
    assert.equal(envOf(agent, "POD_IP").valueFrom.fieldRef.fieldPath, "status.podIP");
    assert.deepEqual(agent.ports, [{ name: "api", containerPort: port, protocol: "TCP" }]);
    assert.equal(agent.readinessProbe.httpGet.path, "/healthz");
    assert.equal(agent.livenessProbe.httpGet.path, "/healthz");
  });
  t.check(`${label}: a headless Service selects exactly the agent pods`, () => {
    assert.equal(svc.spec.clusterIP, "None");
    const podLabels = ds.spec.template.metadata.labels;
    for (const [k, v] of Object.entries(svc.spec.selector)) assert.equal(podLabels[k], v, k);
    assert.deepEqual(svc.spec.selector, ds.spec.selector.matchLabels);
    assert.deepEqual(svc.spec.ports, [{ name: "api", port, targetPort: "api", protocol: "TCP" }]);
  });
  if (!job) return;
  const coord = container(job, "coordinator");
  t.check(`${label}: the coordinator is a helm test Job that fails once`, () => {
    assert.equal(job.metadata.annotations["helm.sh/hook"], "test");
    assert.equal(job.spec.backoffLimit, 0);
    assert.equal(podSpec(job).restartPolicy, "Never");
    assert.equal(coord.args[0], "coordinator");
  });
  t.check(`${label}: the coordinator finds the agents through the headless Service`, () => {
    assert.equal(argValue(coord.args, "--discover"), `${svc.metadata.name}.rdma.svc`);
    assert.equal(argValue(coord.args, "--agent-port"), String(port));
  });
  t.check(`${label}: the coordinator reads the same token, as non-root`, () => {
    assert.equal(volume(job, "token").secret.secretName, secretName);
    assert.deepEqual(mount(coord, "token"), { name: "token", mountPath: "/etc/railcheck/token", readOnly: true });
    assert.equal(envOf(coord, "RAILCHECK_TOKEN_FILE").value, "/etc/railcheck/token/token");
    assert.equal(podSpec(job).securityContext.runAsNonRoot, true);
    assert.equal(coord.securityContext.allowPrivilegeEscalation, false);
    assert.equal(argValue(coord.args, "--output-dir"), mount(coord, "report").mountPath);
  });
  t.check(`${label}: the coordinator's options are the values'`, () => {
    const c = { ...chartDefaults.coordinator, ...(values.coordinator || {}) };
    assert.equal(argValue(coord.args, "--tests"), c.tests.join(","));
    assert.equal(argValue(coord.args, "--pattern"), c.pattern);
    assert.equal(argValue(coord.args, "--mem"), c.mem);
    assert.equal(argValue(coord.args, "--qps"), String(c.qps));
    assert.equal(argValue(coord.args, "--retries"), String(c.retries));
    assert.equal(argValue(coord.args, "--iters"), c.iters == null ? undefined : String(c.iters));
    assert.equal(argValue(coord.args, "--duration"), c.duration == null ? undefined : String(c.duration));
    assert.equal(coord.args.includes("--bidir"), c.bidir);
    assert.equal(coord.args.includes("--cross-rail"), false);
    assert.equal(argValue(coord.args, "--expect-nodes"), c.expectNodes ? String(c.expectNodes) : undefined);
    assert.equal(coord.args.includes("--log-results"), c.logResults);
  });
  t.check(`${label}: agents and coordinator run the same image`, () => {
    assert.equal(coord.image, agent.image);
  });
}

const perFile = {
  "defaults.yaml": (o) => {
    const ds = one(o, "DaemonSet");
    t.check("defaults: named after the release; the appVersion's image", () => {
      assert.equal(ds.metadata.name, "rel");
      assert.equal(container(ds, "agent").image, "ghcr.io/railcheck/railcheck:0.1.0");
    });
    t.check("defaults: no CronJob, ServiceMonitor or profile ConfigMap", () => {
      assert.deepEqual(o.map((x) => x.kind).sort(), ["DaemonSet", "Job", "Secret", "Service"]);
    });
    t.check("defaults: the default profile, no sizes given, an emptyDir for the report", () => {
      const args = container(one(o, "Job"), "coordinator").args;
      assert.equal(argValue(args, "--profile"), "default");
      assert.equal(argValue(args, "--size"), undefined);
      assert.deepEqual(volume(one(o, "Job"), "report"), { name: "report", emptyDir: {} });
    });
    t.check("defaults: the results end the coordinator's log (--log-results)", () => {
      assert.ok(container(one(o, "Job"), "coordinator").args.includes("--log-results"));
    });
  },
  "roce-8rails.yaml": (o) => {
    const ds = one(o, "DaemonSet");
    t.check("roce-8rails: eight networks gpu1-sriov..gpu8-sriov in the Multus annotation", () => {
      const nets = JSON.parse(ds.spec.template.metadata.annotations["k8s.v1.cni.cncf.io/networks"]);
      assert.deepEqual(nets.map((n) => n.name), [1, 2, 3, 4, 5, 6, 7, 8].map((i) => `gpu${i}-sriov`));
      assert.ok(nets.every((n) => n.namespace === "spiderpool"));
    });
    t.check("roce-8rails: one VF of each of the eight resources", () => {
      const limits = container(ds, "agent").resources.limits;
      for (let i = 1; i <= 8; i++) assert.equal(limits[`spidernet.io/gpu${i}sriov`], 1);
      assert.equal(Object.keys(limits).length, 8);
    });
    t.check("roce-8rails: only on worker1 and worker2", () => {
      const term = podSpec(ds).affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution
        .nodeSelectorTerms[0].matchExpressions[0];
      assert.deepEqual(term, { key: "kubernetes.io/hostname", operator: "In", values: ["worker1", "worker2"] });
    });
  },
  "rdma-tools-readme.yaml": (o) => {
    const ds = one(o, "DaemonSet");
    const agent = container(ds, "agent");
    t.check("rdma-tools-readme: `name` names the objects, the registry and tag the image", () => {
      assert.equal(ds.metadata.name, "rdma-test");
      assert.equal(one(o, "Service").metadata.name, "rdma-test");
      assert.equal(agent.image, "ghcr.m.daocloud.io/railcheck/railcheck:0.1.0");
      assert.deepEqual(podSpec(ds).imagePullSecrets, [{ name: "mirror-pull" }]);
      assert.deepEqual(podSpec(one(o, "Job")).imagePullSecrets, [{ name: "mirror-pull" }]);
    });
    t.check("rdma-tools-readme: extraLabels on the pods, not in the selector", () => {
      assert.equal(ds.spec.template.metadata.labels["network.spidernet.io"], "ai-apps");
      assert.equal(ds.spec.selector.matchLabels["network.spidernet.io"], undefined);
    });
    t.check("rdma-tools-readme: extraEnv added after the chart's variables", () => {
      assert.deepEqual(envOf(agent, "UCX_NET_DEVICES"), { name: "UCX_NET_DEVICES", value: "mlx5_0:1" });
      assert.ok(envOf(agent, "NODE_NAME"));
    });
    t.check("rdma-tools-readme: the swapped extraVolumes/extraVolumeMounts sorted by shape", () => {
      assert.deepEqual(mount(agent, "host-tmp"), { name: "host-tmp", mountPath: "/host/tmp" });
      assert.deepEqual(volume(ds, "host-tmp"), { name: "host-tmp", hostPath: { path: "/tmp" } });
    });
  },
  "infiniband-pkeys.yaml": (o) => {
    const ds = one(o, "DaemonSet");
    const args = container(one(o, "Job"), "coordinator").args;
    t.check("infiniband-pkeys: four partition networks and the calico default network", () => {
      const ann = ds.spec.template.metadata.annotations;
      assert.equal(ann["v1.multus-cni.io/default-network"], "kube-system/calico");
      assert.equal(JSON.parse(ann["k8s.v1.cni.cncf.io/networks"]).length, 4);
    });
    t.check("infiniband-pkeys: sizes as given, iterations, ring, the lab profile", () => {
      assert.equal(argValue(args, "--size"), "2,4K,1M");
      assert.equal(argValue(args, "--iters"), "5000");
      assert.equal(argValue(args, "--profile"), "lab");
    });
  },
  "gpudirect.yaml": (o) => {
    const job = one(o, "Job");
    const args = container(job, "coordinator").args;
    t.check("gpudirect: GPU memory, eight GPUs for the agent", () => {
      assert.equal(argValue(args, "--mem"), "cuda");
      assert.equal(container(one(o, "DaemonSet"), "agent").resources.limits["nvidia.com/gpu"], 8);
    });
    t.check("gpudirect: integer sizes stay integers (1048576, not 1.048576e+06)", () => {
      assert.equal(argValue(args, "--size"), "65536,1048576,4M");
    });
    t.check("gpudirect: the custom profile is a ConfigMap the coordinator reads", () => {
      const cm = one(o, "ConfigMap");
      assert.deepEqual(JSON.parse(cm.data["profile.json"]), loadValuesFile("gpudirect.yaml").coordinator.customProfile);
      assert.equal(argValue(args, "--profile"), "/etc/railcheck/profile/profile.json");
      assert.equal(volume(job, "profile").configMap.name, cm.metadata.name);
      assert.equal(mount(container(job, "coordinator"), "profile").mountPath, "/etc/railcheck/profile");
    });
    t.check("gpudirect: the report on the user's volume", () => {
      assert.deepEqual(volume(job, "report").persistentVolumeClaim, { claimName: "railcheck-reports" });
    });
    t.check("gpudirect: the CronJob runs the helm test's pod", () => {
      const cj = one(o, "CronJob");
      assert.equal(cj.spec.schedule, "30 2 * * *");
      assert.equal(cj.spec.timeZone, "Etc/UTC");
      assert.deepEqual(podSpec(cj), podSpec(job));
    });
    t.check("gpudirect: the ServiceMonitor scrapes the Service's api port", () => {
      const sm = one(o, "ServiceMonitor");
      const svc = one(o, "Service");
      assert.equal(sm.metadata.labels.release, "kube-prometheus-stack");
      for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) assert.equal(svc.metadata.labels[k], v, k);
      assert.deepEqual(sm.spec.endpoints.map((e) => [e.port, e.path]), [["api", "/metrics"]]);
      assert.ok(svc.spec.ports.some((p) => p.name === "api"));
    });
  },
};

t.check("Chart.yaml appVersion is the project's VERSION", () => {
  const chart = yaml.load(fs.readFileSync(path.join(chartDir, "Chart.yaml"), "utf8"));
  const cmake = fs.readFileSync(path.join(repo, "CMakeLists.txt"), "utf8");
  assert.equal(chart.appVersion, /project\(railcheck VERSION ([0-9.]+)/.exec(cmake)[1]);
});
t.check("every values file has its own checks", () => {
  assert.deepEqual(listValuesFiles(), Object.keys(perFile).sort());
});

for (const f of listValuesFiles()) {
  let objects;
  t.check(`values/${f} renders`, () => { objects = render(helm, { values: [path.join(valuesDir, f)] }).objects; });
  if (!objects) continue;
  commonChecks(f, objects, loadValuesFile(f));
  perFile[f]?.(objects);
}

// Variants through --set.
const variants = [
  ["existing Secret", ["auth.existingSecret=my-token"], { auth: { existingSecret: "my-token" } }],
  ["hostnetwork", ["hostnetwork=true"], { hostnetwork: true }],
  ["no helm test", ["test.enabled=false"], { test: { enabled: false } }],
  ["agent port 7500", ["agent.port=7500"], { agent: { port: 7500 } }],
  ["securityContext with its own capability", ["securityContext.capabilities.add={NET_RAW}"],
    { securityContext: { capabilities: { add: ["NET_RAW"] } } }],
];
for (const [name, set, values] of variants) {
  let objects;
  t.check(`--set ${set.join(" ")} renders`, () => { objects = render(helm, { set }).objects; });
  if (!objects) continue;
  if (name.startsWith("securityContext")) {
    t.check(`${name}: NET_RAW kept, IPC_LOCK added, the rest dropped`, () => {
      const caps = container(one(objects, "DaemonSet"), "agent").securityContext.capabilities;
      assert.deepEqual(caps, { add: ["NET_RAW", "IPC_LOCK"], drop: ["ALL"] });
    });
    strictEntries.push(...objects.map((o) => ({ label: `${name}: ${o.kind}`, obj: o })));
    continue;
  }
  commonChecks(name, objects, values);
  if (name === "hostnetwork") {
    t.check("hostnetwork: the cluster DNS still resolves the Service", () => {
      assert.equal(podSpec(one(objects, "DaemonSet")).dnsPolicy, "ClusterFirstWithHostNet");
    });
  }
}
t.check("command replaces the agent (the rdma-tools chart's override): no agent args, no probes", () => {
  const { objects } = render(helm, { set: ["command={/usr/bin/sleep,infinity}"] });
  const agent = container(one(objects, "DaemonSet"), "agent");
  assert.deepEqual(agent.command, ["/usr/bin/sleep", "infinity"]);
  assert.equal(agent.args, undefined);
  assert.equal(agent.readinessProbe, undefined);
  assert.equal(agent.livenessProbe, undefined);
});
t.check("a numeric image tag is printed as given", () => {
  const { objects } = render(helm, { set: ["image.tag=2"] });
  assert.equal(container(one(objects, "DaemonSet"), "agent").image, "ghcr.io/railcheck/railcheck:2");
});
t.check("the longest name allowed (43) still makes a valid CronJob name (52)", () => {
  const { objects } = render(helm, { set: [`name=${"a".repeat(43)}`, "cronJob.enabled=true"] });
  assert.equal(one(objects, "CronJob").metadata.name.length, 52);
  assert.throws(() => render(helm, { set: [`name=${"a".repeat(44)}`] }), /name/);
});
t.check("a new token at each render without a cluster (lookup finds nothing)", () => {
  const token = () => one(render(helm).objects, "Secret").data.token;
  assert.notEqual(token(), token());
});

t.check("no unknown field in any rendered object (TypeScript types of kubernetes-models)", () => {
  const errors = strictFieldErrors(strictEntries);
  if (errors.length) throw new Error(errors.join("\n"));
});
t.check("the strict check does catch a misspelt field", () => {
  const { objects } = render(helm);
  const ds = structuredClone(one(objects, "DaemonSet"));
  ds.spec.template.spec.containers[0].securitycontext = {};
  const errors = strictFieldErrors([{ label: "misspelt", obj: ds }]);
  assert.equal(errors.length, 1, errors.join("\n"));
  assert.match(errors[0], /securitycontext/);
});

const notes = renderNotes(helm, { values: [path.join(valuesDir, "roce-8rails.yaml")] });
t.check("NOTES: helm test and its log for this release", () => {
  assert.match(notes, /helm test rel -n rdma --timeout 1860s/);
  assert.match(notes, /kubectl -n rdma logs job\/rel-test/);
  assert.match(notes, /kubectl -n rdma logs job\/rel-test \| railcheck report --from-log - --format junit,html -o out\//);
});
t.check("NOTES: no --from-log line when the results are not logged", () => {
  const quiet = renderNotes(helm, { set: ["coordinator.logResults=false"] });
  assert.doesNotMatch(quiet, /--from-log/);
});
t.check("NOTES: kubectl exec one-liners for topo, check, lat and bw", () => {
  for (const cmd of ["railcheck topo", "railcheck check", "railcheck devices", "railcheck lat \\$B_IP --rail net1",
    "railcheck bw \\$B_IP --rail net1", "railcheck serve --rail net1 --once",
    "railcheck coordinator --discover rel.rdma.svc"]) {
    assert.match(notes, new RegExp(`kubectl -n rdma exec \\$[AB] -- ${cmd}`), cmd);
  }
  assert.match(notes, /-l app\.kubernetes\.io\/instance=rel,app\.kubernetes\.io\/component=agent/);
});
t.check("NOTES: memlock and IPC_LOCK explained", () => {
  assert.match(notes, /memlock/i);
  assert.match(notes, /IPC_LOCK/);
});
t.check("NOTES: warns when GPUDirect is asked without GPUs, not when they are there", () => {
  assert.doesNotMatch(notes, /no nvidia\.com\/gpu/);
  assert.match(renderNotes(helm, { set: ["coordinator.mem=cuda"] }), /no nvidia\.com\/gpu/);
  assert.doesNotMatch(renderNotes(helm, { values: [path.join(valuesDir, "gpudirect.yaml")] }), /no nvidia\.com\/gpu/);
});

t.finish();
