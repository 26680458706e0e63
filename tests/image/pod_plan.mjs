// The chart's pods as a container runtime would start them, for runtimes that are not
// Kubernetes: renders charts/rdma-tools with helm (tools of scripts/install-chart-tools),
// takes the agent container of the DaemonSet (one pod per "node") and the coordinator of the
// `helm test` Job, and writes plan.json: for each container its command and args (with
// Kubernetes' $(VAR) expansion done), env, user, groups, capabilities, read-only root, mounts,
// ports and probes, resolved the way kubelet and a CRI runtime resolve them. Two runners
// execute a plan: tests/image/run_pods.sh (podman) and lab/lib/image-pods.sh (chroot into the
// image's exported root in the lab). They only execute it: every Kubernetes feature that
// podman or a chroot cannot express is stood in for here, and only here:
//
//   image            the rendered image name is replaced by --image (a local podman image);
//   downward API     podinfo files written from the rendered pod template, in kubelet's
//                    format (annotations and labels as key="value" lines sorted by key, no
//                    newline at the end; name; namespace). With --annotations-from, the pod's
//                    `annotations` file is that file instead (in the lab: the one with
//                    Multus's network-status, which Multus would have added to the pod);
//   fieldRef env     spec.nodeName = node-I, metadata.name = <DaemonSet>-I, metadata.namespace
//                    = the release namespace, status.podIP = the I-th --pod-ips address (the
//                    coordinator's pod: --coordinator-ip);
//   Secret, ConfigMap  their files written from the rendered objects (the token decoded from
//                    base64), with the volume's defaultMode, group fsGroup where the pod has
//                    one, as kubelet writes them;
//   emptyDir, PVC, hostPath  an empty folder of ours each (mode 0777 for an emptyDir, group
//                    fsGroup); a hostPath never reaches the host's own path;
//   Service DNS      the headless Service's names (NAME.NS.svc and .svc.cluster.local) are
//                    lines of the pods' /etc/hosts, one per agent address (cluster DNS answers
//                    a headless name with every ready pod's A record);
//   resources        extended resources (SR-IOV VFs, GPUs) have no device plugin here and are
//                    left out; memory and cpu limits are given to the runner;
//   probes           the runner calls the httpGet probes from outside the pod, as kubelet does.
//
// Usage: node pod_plan.mjs --out DIR --image REF --pod-ips IP,IP,... --coordinator-ip IP
//          [--values FILE]... [--set K=V]... [--annotations-from PATTERN] [--helm 3|4]
//   PATTERN: a path with %d for the pod's index. DIR gets plan.json and volumes/.
import fs from "node:fs";
import path from "node:path";
import { helmPath, render, yaml } from "../chart/lib.mjs";

function usage(msg) {
  if (msg) console.error(`pod_plan.mjs: ${msg}`);
  console.error("usage: node pod_plan.mjs --out DIR --image REF --pod-ips IP,... --coordinator-ip IP " +
    "[--values FILE]... [--set K=V]... [--annotations-from PATTERN] [--helm 3|4]");
  process.exit(2);
}

const opt = { values: [], set: [], helm: "3" };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const val = () => (i + 1 < argv.length ? argv[++i] : usage(`${a} needs a value`));
  switch (a) {
    case "--out": opt.out = val(); break;
    case "--image": opt.image = val(); break;
    case "--pod-ips": opt.podIps = val().split(","); break;
    case "--coordinator-ip": opt.coordinatorIp = val(); break;
    case "--values": opt.values.push(val()); break;
    case "--set": opt.set.push(val()); break;
    case "--annotations-from": opt.annotationsFrom = val(); break;
    case "--helm": opt.helm = val(); break;
    case "-h": case "--help": usage();
    default: usage(`unknown argument ${a}`);
  }
}
if (!opt.out || !opt.image || !opt.podIps || !opt.coordinatorIp) usage("--out, --image, --pod-ips and --coordinator-ip are needed");

class Unsupported extends Error {}
const unsupported = (what) => { throw new Unsupported(`cannot stand in for ${what} (tests/image/pod_plan.mjs)`); };

// Kubernetes reads YAML 1.1, where a file mode 0440 is octal; js-yaml (1.2) would read 440.
const { text } = render(helmPath(opt.helm), { values: opt.values, set: opt.set });
const objects = yaml.loadAll(text.replace(/^(\s*(?:-\s+)?(?:defaultMode|mode):\s*)0([0-7]+)\s*$/gm,
  (_, key, octal) => `${key}${parseInt(octal, 8)}`)).filter((o) => o != null);
const find = (kind, pred = () => true) => objects.filter((o) => o.kind === kind && pred(o));
const [ds] = find("DaemonSet");
const [job] = find("Job", (o) => o.metadata.annotations?.["helm.sh/hook"] === "test");
const [svc] = find("Service", (o) => o.spec.clusterIP === "None");
if (!ds || !job || !svc) usage("the rendering has no DaemonSet, helm test Job or headless Service");
const namespace = ds.metadata.namespace;

const out = path.resolve(opt.out);
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(path.join(out, "volumes"), { recursive: true });

// Kubernetes' $(VAR) expansion in command, args and env values: $$ is a literal $, an
// unknown $(VAR) stays as it is.
const expand = (s, env) => s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g,
  (m, name) => (m === "$$" ? "$" : name in env ? env[name] : m));

function writeFile(file, content, mode, gid) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  fs.chmodSync(file, mode);
  if (gid != null) fs.chownSync(file, 0, gid);
}

function downwardFile(pod, fieldPath) {
  const kv = (o) => Object.keys(o || {}).sort().map((k) => `${k}=${JSON.stringify(o[k])}`).join("\n");
  switch (fieldPath) {
    case "metadata.annotations": return kv(pod.annotations);
    case "metadata.labels": return kv(pod.labels);
    case "metadata.name": return pod.name;
    case "metadata.namespace": return pod.namespace;
    default: return unsupported(`the downward API field ${fieldPath}`);
  }
}

function fieldRef(pod, fieldPath) {
  switch (fieldPath) {
    case "spec.nodeName": return pod.node;
    case "metadata.name": return pod.name;
    case "metadata.namespace": return pod.namespace;
    case "status.podIP": return pod.ip;
    default: return unsupported(`the env fieldRef ${fieldPath}`);
  }
}

const dataOf = (kind, name) => {
  const [o] = find(kind, (x) => x.metadata.name === name);
  if (!o) unsupported(`${kind} ${name}, which the chart does not render (an existing one of the user's)`);
  return kind === "Secret"
    ? Object.fromEntries(Object.entries(o.data || {}).map(([k, v]) => [k, Buffer.from(v, "base64")]))
    : o.data || {};
};

// A volume of the pod, materialized as a folder of ours; returns the folder.
function volumeDir(pod, vol, fsGroup) {
  const dir = path.join(out, "volumes", pod.name, vol.name);
  fs.mkdirSync(dir, { recursive: true });
  const group = (d) => { if (fsGroup != null) fs.chownSync(d, 0, fsGroup); };
  if (vol.downwardAPI) {
    const mode = vol.downwardAPI.defaultMode ?? 0o644;
    for (const item of vol.downwardAPI.items) {
      if (!item.fieldRef) unsupported(`downward API item ${item.path} (only fieldRef)`);
      writeFile(path.join(dir, item.path), downwardFile(pod, item.fieldRef.fieldPath), item.mode ?? mode, fsGroup);
    }
  } else if (vol.secret || vol.configMap) {
    const src = vol.secret || vol.configMap;
    const data = vol.secret ? dataOf("Secret", src.secretName) : dataOf("ConfigMap", src.name);
    const mode = src.defaultMode ?? 0o644;
    const items = src.items || Object.keys(data).map((key) => ({ key, path: key }));
    for (const it of items) writeFile(path.join(dir, it.path), data[it.key], it.mode ?? mode, fsGroup);
    group(dir);
  } else if (vol.emptyDir) {
    fs.chmodSync(dir, 0o777);
    group(dir);
  } else if (vol.persistentVolumeClaim || vol.hostPath) {
    fs.chmodSync(dir, 0o775);
    group(dir);
  } else {
    unsupported(`volume ${vol.name} of kind ${Object.keys(vol).filter((k) => k !== "name").join(",")}`);
  }
  return dir;
}

// What a CRI runtime (containerd's defaults) gives a container, before drop/add.
const defaultCaps = ["CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID",
  "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE"];

function containerPlan(podSpec, container, pod) {
  const psc = podSpec.securityContext || {};
  const sc = container.securityContext || {};
  const user = sc.runAsUser ?? psc.runAsUser ?? null;  // null: the image's USER
  const group = sc.runAsGroup ?? psc.runAsGroup ?? null;
  const runAsNonRoot = sc.runAsNonRoot ?? psc.runAsNonRoot ?? false;
  if (runAsNonRoot && user === 0) throw new Error(`${container.name}: runAsNonRoot with runAsUser 0 (kubelet refuses it)`);
  const privileged = sc.privileged === true;
  let caps = privileged ? ["ALL"] : [...defaultCaps];
  const drop = sc.capabilities?.drop || [];
  if (drop.includes("ALL")) caps = [];
  else caps = caps.filter((c) => !drop.includes(c));
  for (const c of sc.capabilities?.add || []) if (!caps.includes(c)) caps.push(c);

  const env = { ...pod.baseEnv };  // PATH and the like come from the image
  const envList = [];
  for (const e of container.env || []) {
    let v;
    if ("value" in e) v = expand(String(e.value), Object.fromEntries(envList));
    else if (e.valueFrom?.fieldRef) v = fieldRef(pod, e.valueFrom.fieldRef.fieldPath);
    else if (e.valueFrom?.secretKeyRef) v = dataOf("Secret", e.valueFrom.secretKeyRef.name)[e.valueFrom.secretKeyRef.key].toString();
    else if (e.valueFrom?.configMapKeyRef) v = dataOf("ConfigMap", e.valueFrom.configMapKeyRef.name)[e.valueFrom.configMapKeyRef.key];
    else unsupported(`env ${e.name} from ${JSON.stringify(e.valueFrom)}`);
    envList.push([e.name, v]);
  }
  if (container.envFrom) unsupported("envFrom");
  Object.assign(env, Object.fromEntries(envList));

  const fsGroup = psc.fsGroup ?? null;
  const mounts = [];
  for (const m of container.volumeMounts || []) {
    const vol = podSpec.volumes.find((v) => v.name === m.name);
    if (!vol) throw new Error(`${container.name}: volumeMount ${m.name} has no volume`);
    if (m.subPath) unsupported(`subPath in volumeMount ${m.name}`);
    mounts.push({ source: volumeDir(pod, vol, fsGroup), target: m.mountPath, readOnly: m.readOnly === true,
      volume: vol.name });
    if (vol.downwardAPI && opt.annotationsFrom &&
        vol.downwardAPI.items.some((i) => i.fieldRef?.fieldPath === "metadata.annotations")) {
      const item = vol.downwardAPI.items.find((i) => i.fieldRef?.fieldPath === "metadata.annotations");
      mounts.push({ source: opt.annotationsFrom.replace("%d", String(pod.index)),
        target: path.posix.join(m.mountPath, item.path), readOnly: true, volume: `${vol.name} (Multus's annotations)` });
    }
  }
  mounts.push({ source: pod.hostsFile, target: "/etc/hosts", readOnly: true, volume: "kubelet's /etc/hosts" });

  const ports = (container.ports || []).map((p) => ({ name: p.name, containerPort: p.containerPort, protocol: p.protocol || "TCP" }));
  const portOf = (p) => (typeof p === "number" ? p : ports.find((x) => x.name === p)?.containerPort);
  const probe = (p) => p?.httpGet && { path: p.httpGet.path, port: portOf(p.httpGet.port),
    initialDelaySeconds: p.initialDelaySeconds || 0, timeoutSeconds: p.timeoutSeconds || 1 };
  if (container.startupProbe || [container.readinessProbe, container.livenessProbe].some((p) => p && !p.httpGet)) {
    unsupported(`${container.name}'s probes other than httpGet readiness/liveness`);
  }
  const limits = container.resources?.limits || {};
  return {
    name: container.name, pod: pod.name, node: pod.node, index: pod.index, ip: pod.ip, hostname: pod.name,
    renderedImage: container.image, image: opt.image,
    command: container.command ? container.command.map((s) => expand(s, env)) : null,
    args: (container.args || []).map((s) => expand(s, env)),
    env, user, group, supplementalGroups: [...(fsGroup != null ? [fsGroup] : []), ...(psc.supplementalGroups || [])],
    runAsNonRoot, privileged, capabilities: caps,
    noNewPrivileges: sc.allowPrivilegeEscalation === false,
    readOnlyRootFilesystem: sc.readOnlyRootFilesystem === true,
    seccomp: sc.seccompProfile?.type || psc.seccompProfile?.type || null,
    hostNetwork: podSpec.hostNetwork === true,
    mounts, ports,
    readinessProbe: probe(container.readinessProbe) || null, livenessProbe: probe(container.livenessProbe) || null,
    limits: { memory: limits.memory ?? null, cpu: limits.cpu ?? null },
    ignoredResources: Object.keys(limits).filter((k) => k !== "memory" && k !== "cpu"),
  };
}

function hostsFile(name, ip, serviceIps) {
  const file = path.join(out, "volumes", name, "etc-hosts");
  const svcNames = [`${svc.metadata.name}.${namespace}.svc`, `${svc.metadata.name}.${namespace}.svc.cluster.local`];
  const lines = ["# Kubernetes-managed hosts file (a stand-in: tests/image/pod_plan.mjs).",
    "127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback", `${ip}\t${name}`,
    ...serviceIps.map((a) => `${a}\t${svcNames.join(" ")}`)];
  writeFile(file, lines.join("\n") + "\n", 0o644);
  return file;
}

const podOf = (template, name, index, node, ip) => ({
  name, index, node, ip, namespace,
  annotations: template.metadata.annotations || {}, labels: template.metadata.labels || {},
  baseEnv: {}, hostsFile: hostsFile(name, ip, opt.podIps),
});

try {
  const agentTemplate = ds.spec.template;
  const agentContainer = agentTemplate.spec.containers.find((c) => c.name === "agent");
  const agents = opt.podIps.map((ip, i) =>
    containerPlan(agentTemplate.spec, agentContainer,
      podOf(agentTemplate, `${ds.metadata.name}-${i}`, i, `node-${i}`, ip)));
  const jobTemplate = job.spec.template;
  const coordContainer = jobTemplate.spec.containers.find((c) => c.name === "coordinator");
  const coordinator = containerPlan(jobTemplate.spec, coordContainer,
    podOf(jobTemplate, `${job.metadata.name}-0`, 0, "node-0", opt.coordinatorIp));
  const plan = {
    release: ds.metadata.name, namespace, values: opt.values, set: opt.set,
    service: { name: `${svc.metadata.name}.${namespace}.svc`, port: svc.spec.ports[0].port, addresses: opt.podIps },
    token: dataOf("Secret", agentTemplate.spec.volumes.find((v) => v.name === "token").secret.secretName).token.toString(),
    agents, coordinator,
  };
  fs.writeFileSync(path.join(out, "plan.json"), JSON.stringify(plan, null, 2) + "\n");
} catch (e) {
  console.error(`pod_plan.mjs: ${e.message}`);
  process.exit(e instanceof Unsupported ? 3 : 1);
}
