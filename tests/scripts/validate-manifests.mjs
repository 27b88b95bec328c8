// Validates what `kubectl kustomize` renders from deploy/k8s, plus the alert rules and the Grafana dashboard.
// Run by tests/scripts/check-deploy.sh, which installs the npm packages into a cache folder and passes it:
//
//   node validate-manifests.mjs --modules DIR --render NAME=FILE... --rules FILE --prometheus-rule FILE --dashboard FILE
//
// - Built-in Kubernetes objects are validated against the Kubernetes OpenAPI schemas (npm kubernetes-models),
//   and monitoring.coreos.com objects against the Prometheus Operator's (@kubernetes-models/prometheus-operator).
// - Strimzi and CloudNativePG resources have no such package: their required fields are checked here.
// - Then what no schema knows: references between objects (selectors, ports, ConfigMaps, HPA targets), the
//   app's own rules (topic partition counts, silo settings), the rules file against the PrometheusRule, and
//   metric names against the ones the app exports.
// Every problem is reported, then the exit code is 1 if there was any.

import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { pathToFileURL } from "node:url";

// ---- arguments ----

const args = { render: [] };
for (let i = 2; i < process.argv.length; i += 2) {
  const key = process.argv[i].replace(/^--/, "");
  const value = process.argv[i + 1];
  if (value === undefined) usage(`missing value for --${key}`);
  if (key === "render") args.render.push(value);
  else args[key] = value;
}
for (const key of ["modules", "rules", "prometheus-rule", "dashboard"]) {
  if (!args[key]) usage(`--${key} is required`);
}
if (args.render.length === 0) usage("at least one --render NAME=FILE is required");

function usage(message) {
  console.error(`validate-manifests: ${message}`);
  console.error("usage: node validate-manifests.mjs --modules DIR --render NAME=FILE... --rules FILE --prometheus-rule FILE --dashboard FILE");
  process.exit(2);
}

const requireFromModules = createRequire(join(args.modules, "package.json"));
const YAML = requireFromModules("yaml");

// ---- what the app and the docs promise (keep in sync with README.md / docs/architecture.md) ----

// Metrics the app exports (Prometheus text format). Histograms also have _bucket, _count and _sum series.
const APP_METRICS = new Set([
  "reco_events_consumed_total",
  "reco_events_applied_total",
  "reco_events_invalid_total",
  "reco_consumer_lag",
  "reco_checkpoint_age_seconds",
  "reco_fencing_violations_total",
  "reco_batch_failures_total",
  "reco_ingress_blocked",
  "reco_ingress_partitions",
  "reco_silo_ready",
  // Orleans' own meter (Microsoft.Orleans), exported beside ours.
  "orleans_catalog_activation_created_total",
  "orleans_catalog_activations",
  "reco_snapshot_version",
  "reco_snapshot_age_seconds",
  // librdkafka's statistics (KafkaStatistics).
  "reco_kafka_fetch_lag",
  "reco_kafka_broker_rtt_seconds",
  "reco_kafka_queued_messages",
]);
const APP_HISTOGRAMS = new Set([
  "reco_checkpoint_duration_seconds",
  "reco_ingest_produce_duration_seconds",
  "http_server_request_duration_seconds",
]);
const REQUIRED_ALERTS = [
  "RecoConsumerLagGrowing",
  "RecoCheckpointTooOld",
  "RecoSnapshotTooOld",
  "RecoGatewayErrorRate",
  "RecoFencingViolation",
  "RecoIngressBlocked",
  "RecoSiloNotReady",
  "RecoKafkaProducerQueueGrowing",
];
// Panels the dashboard must have, by title.
const REQUIRED_PANELS = [/ingest rate/i, /applied rate/i, /lag per partition/i, /checkpoint age/i, /latency p50 \/ p99/i, /5xx/i, /fencing/i, /kafka fetch lag/i];
const TOPIC_SUFFIXES = ["events", "events.dlq", "catalog"];
// Secrets the manifests use but must never contain: created by hand (docs/deployment.md).
const EXTERNAL_SECRETS = new Set(["reco-storage", "reco-api-keys"]);
// The host's shutdown timeout (.NET's default, 30 s) plus margin: the kubelet must not kill a silo while it
// deactivates its grains and leaves the membership.
const MIN_SILO_GRACE_SECONDS = 45;

// ---- helpers ----

const errors = [];
let current = "";
const fail = (where, message) => errors.push(`${current}: ${where}: ${message}`);
const id = (o) => `${o?.kind ?? "?"}/${o?.metadata?.name ?? "?"}`;
const isInt = (v) => Number.isInteger(v);
const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const labelsMatch = (matchLabels, labels) =>
  isObject(matchLabels) && Object.keys(matchLabels).length > 0 &&
  Object.entries(matchLabels).every(([k, v]) => labels?.[k] === v);

function readYamlDocuments(file) {
  const docs = YAML.parseAllDocuments(readFileSync(file, "utf8"));
  const objects = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) {
      errors.push(`${file}: YAML error: ${doc.errors[0].message}`);
      continue;
    }
    const value = doc.toJS();
    if (value !== null && value !== undefined) objects.push(value);
  }
  return objects;
}

const modelCache = new Map();
async function loadModel(file, kind) {
  if (!modelCache.has(file)) {
    modelCache.set(file, existsSync(file) ? (await import(pathToFileURL(file).href))[kind] ?? null : null);
  }
  return modelCache.get(file);
}

// The model class of a built-in kind (kubernetes-models) or of a Prometheus Operator kind, or null.
async function modelFor(apiVersion, kind) {
  const slash = apiVersion.indexOf("/");
  const group = slash < 0 ? "" : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  if (group === "monitoring.coreos.com") {
    return loadModel(join(args.modules, "node_modules/@kubernetes-models/prometheus-operator", group, version, `${kind}.js`), kind);
  }
  const dir = group === "" ? version : `${group}/${version}`;
  return loadModel(join(args.modules, "node_modules/kubernetes-models", dir, `${kind}.js`), kind);
}

function schemaErrors(Model, object) {
  try {
    new Model(object).validate();
    return null;
  } catch (e) {
    return String(e?.message ?? e).split("\n").slice(0, 5).join("; ");
  }
}

// ---- custom resources: Strimzi and CloudNativePG ----

const CUSTOM_CHECKS = {
  "kafka.strimzi.io/v1beta2/Kafka": (o, w) => {
    const kafka = o.spec?.kafka;
    if (!isObject(kafka)) return fail(w, "spec.kafka is required");
    if (!Array.isArray(kafka.listeners) || kafka.listeners.length === 0) fail(w, "spec.kafka.listeners must be a non-empty list");
    for (const [i, l] of (kafka.listeners ?? []).entries()) {
      if (typeof l.name !== "string" || !/^[a-z0-9]{1,11}$/.test(l.name)) fail(w, `listener ${i}: name must be 1-11 lowercase letters or digits`);
      if (!isInt(l.port) || l.port < 9092 || l.port === 9404 || l.port === 9999) fail(w, `listener ${i}: port must be an integer >= 9092 (not 9404 or 9999)`);
      if (!["internal", "route", "loadbalancer", "nodeport", "ingress", "cluster-ip"].includes(l.type)) fail(w, `listener ${i}: unknown type '${l.type}'`);
      if (typeof l.tls !== "boolean") fail(w, `listener ${i}: tls (boolean) is required`);
    }
    if (kafka.config !== undefined && !isObject(kafka.config)) fail(w, "spec.kafka.config must be a map");
    const pools = o.metadata?.annotations?.["strimzi.io/node-pools"] === "enabled";
    const kraft = o.metadata?.annotations?.["strimzi.io/kraft"] === "enabled";
    if (!pools && (!isInt(kafka.replicas) || !isObject(kafka.storage))) fail(w, "without node pools, spec.kafka.replicas and spec.kafka.storage are required");
    if (kraft && !pools) fail(w, "KRaft mode needs the annotation strimzi.io/node-pools: enabled");
    if (kraft && o.spec.zookeeper !== undefined) fail(w, "spec.zookeeper must not be set in KRaft mode");
    if (!kraft && !isObject(o.spec.zookeeper)) fail(w, "spec.zookeeper is required unless strimzi.io/kraft is enabled");
  },
  "kafka.strimzi.io/v1beta2/KafkaNodePool": (o, w) => {
    if (!o.metadata?.labels?.["strimzi.io/cluster"]) fail(w, "label strimzi.io/cluster is required");
    if (!isInt(o.spec?.replicas) || o.spec.replicas < 0) fail(w, "spec.replicas must be an integer >= 0");
    const roles = o.spec?.roles;
    if (!Array.isArray(roles) || roles.length === 0 || roles.some((r) => !["controller", "broker"].includes(r))) {
      fail(w, "spec.roles must be a non-empty list of 'controller'/'broker'");
    }
    checkStrimziStorage(o.spec?.storage, w);
  },
  "kafka.strimzi.io/v1beta2/KafkaTopic": (o, w) => {
    if (!o.metadata?.labels?.["strimzi.io/cluster"]) fail(w, "label strimzi.io/cluster is required (the topic operator ignores the topic otherwise)");
    if (!isInt(o.spec?.partitions) || o.spec.partitions < 1) fail(w, "spec.partitions must be an integer >= 1");
    if (!isInt(o.spec?.replicas) || o.spec.replicas < 1) fail(w, "spec.replicas must be an integer >= 1");
    for (const [k, v] of Object.entries(o.spec?.config ?? {})) {
      if (!["string", "number", "boolean"].includes(typeof v)) fail(w, `config ${k} must be a scalar`);
    }
  },
  "postgresql.cnpg.io/v1/Cluster": (o, w) => {
    if (!isInt(o.spec?.instances) || o.spec.instances < 1) fail(w, "spec.instances must be an integer >= 1");
    const storage = o.spec?.storage;
    if (!isObject(storage) || (typeof storage.size !== "string" && !isObject(storage.pvcTemplate))) fail(w, "spec.storage.size (or pvcTemplate) is required");
    const initdb = o.spec?.bootstrap?.initdb;
    if (initdb !== undefined && (typeof initdb.database !== "string" || typeof initdb.owner !== "string")) {
      fail(w, "spec.bootstrap.initdb needs database and owner");
    }
    // The CRD types parameters as map[string]string: a bare number is refused by the API server.
    for (const [k, v] of Object.entries(o.spec?.postgresql?.parameters ?? {})) {
      if (typeof v !== "string") fail(w, `spec.postgresql.parameters.${k} must be a string (quote it)`);
    }
  },
};

function checkStrimziStorage(storage, w) {
  if (!isObject(storage)) return fail(w, "spec.storage is required");
  const volumes = storage.type === "jbod" ? storage.volumes : [storage];
  if (!["jbod", "persistent-claim", "ephemeral"].includes(storage.type)) return fail(w, `unknown storage type '${storage.type}'`);
  if (!Array.isArray(volumes) || volumes.length === 0) return fail(w, "jbod storage needs volumes");
  for (const v of volumes) {
    if (storage.type === "jbod" && !isInt(v.id)) fail(w, "every jbod volume needs an integer id");
    if (!["persistent-claim", "ephemeral"].includes(v.type)) fail(w, `unknown volume type '${v.type}'`);
    if (v.type === "persistent-claim" && typeof v.size !== "string") fail(w, "persistent-claim volumes need a size");
  }
}

// Prometheus Operator kinds are schema-validated; these are the fields that make them do anything.
const MONITORING_CHECKS = {
  PodMonitor: (o, w) => {
    if (!isObject(o.spec?.selector)) fail(w, "spec.selector is required");
    const eps = o.spec?.podMetricsEndpoints;
    if (!Array.isArray(eps) || eps.length === 0) fail(w, "spec.podMetricsEndpoints must be a non-empty list");
    for (const ep of eps ?? []) if (!ep.port && ep.portNumber === undefined && ep.targetPort === undefined) fail(w, "an endpoint needs a port");
  },
  ServiceMonitor: (o, w) => {
    if (!isObject(o.spec?.selector)) fail(w, "spec.selector is required");
    if (!Array.isArray(o.spec?.endpoints) || o.spec.endpoints.length === 0) fail(w, "spec.endpoints must be a non-empty list");
  },
  PrometheusRule: (o, w) => checkRuleGroups(o.spec?.groups, w),
};

function checkRuleGroups(groups, w) {
  if (!Array.isArray(groups) || groups.length === 0) return fail(w, "groups must be a non-empty list");
  for (const g of groups) {
    if (typeof g.name !== "string" || !Array.isArray(g.rules) || g.rules.length === 0) fail(w, "every group needs a name and rules");
    for (const r of g.rules ?? []) {
      if (typeof r.expr !== "string" || r.expr.trim() === "") fail(w, `rule ${r.alert ?? r.record}: expr is required`);
      if ((r.alert === undefined) === (r.record === undefined)) fail(w, "every rule needs exactly one of alert or record");
    }
  }
}

// ---- whole-render checks: references and the app's own rules ----

function podTemplates(objects) {
  return objects.filter((o) => ["Deployment", "StatefulSet", "DaemonSet"].includes(o.kind) && o.spec?.template);
}

function checkWorkload(o, objects, byKindName) {
  const w = id(o);
  const tmpl = o.spec.template;
  if (!labelsMatch(o.spec.selector?.matchLabels, tmpl.metadata?.labels)) fail(w, "spec.selector.matchLabels must match the pod template's labels");
  const pod = tmpl.spec ?? {};
  const configMapKeys = new Map(objects.filter((x) => x.kind === "ConfigMap").map((c) => [c.metadata.name, Object.keys(c.data ?? {})]));
  for (const c of pod.containers ?? []) {
    const cw = `${w} container ${c.name}`;
    if (!c.image) fail(cw, "image is required");
    for (const kind of ["requests", "limits"]) {
      if (!c.resources?.[kind]?.memory) fail(cw, `resources.${kind}.memory is required`);
    }
    if (!c.resources?.requests?.cpu) fail(cw, "resources.requests.cpu is required");
    if (pod.securityContext?.runAsNonRoot !== true && c.securityContext?.runAsNonRoot !== true) fail(cw, "must run as non-root (runAsNonRoot: true)");
    const portNames = new Set((c.ports ?? []).map((p) => p.name).filter(Boolean));
    for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"]) {
      const port = c[probe]?.httpGet?.port;
      if (typeof port === "string" && !portNames.has(port)) fail(cw, `${probe} uses port '${port}', which the container does not name`);
    }
    // Kubernetes expands $(VAR) only for variables defined before it: envFrom first, then env in order.
    const defined = new Set();
    for (const ef of c.envFrom ?? []) {
      const name = ef.configMapRef?.name;
      if (name !== undefined) {
        if (!configMapKeys.has(name)) fail(cw, `envFrom ConfigMap '${name}' is not in the render`);
        for (const k of configMapKeys.get(name) ?? []) defined.add(k);
      }
      if (ef.secretRef && !EXTERNAL_SECRETS.has(ef.secretRef.name) && !byKindName.has(`Secret/${ef.secretRef.name}`)) {
        fail(cw, `envFrom Secret '${ef.secretRef.name}' is neither in the render nor a documented external Secret`);
      }
    }
    for (const e of c.env ?? []) {
      for (const [, ref] of (e.value ?? "").matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)) {
        if (!defined.has(ref)) fail(cw, `env ${e.name} refers to $(${ref}), which is not defined before it`);
      }
      const cm = e.valueFrom?.configMapKeyRef;
      if (cm && !(configMapKeys.get(cm.name) ?? []).includes(cm.key)) fail(cw, `env ${e.name}: ConfigMap key ${cm.name}/${cm.key} is not in the render`);
      const secret = e.valueFrom?.secretKeyRef;
      if (secret && !EXTERNAL_SECRETS.has(secret.name) && !byKindName.has(`Secret/${secret.name}`)) {
        fail(cw, `env ${e.name}: Secret '${secret.name}' is neither in the render nor a documented external Secret`);
      }
      defined.add(e.name);
    }
  }
}

function envOf(container, configMaps) {
  const env = {};
  for (const ef of container.envFrom ?? []) Object.assign(env, configMaps.get(ef.configMapRef?.name)?.data ?? {});
  for (const e of container.env ?? []) env[e.name] = e.value !== undefined ? e.value : e.valueFrom;
  return env;
}

function checkRecoProcess(deploy, mode, port, configMaps, w) {
  const c = deploy.spec.template.spec.containers?.[0];
  if (!c) return fail(w, "has no container");
  const env = envOf(c, configMaps);
  // Plain HTTP on the port: by --urls, or by Kestrel's endpoint settings (which replace --urls, and which a process
  // serving HTTPS as well uses for both).
  const expectedArgs = [mode, "--urls", `http://0.0.0.0:${port}`];
  const actual = [...(c.command ?? []), ...(c.args ?? [])];
  const byKestrel = env.Kestrel__Endpoints__Http__Url === `http://0.0.0.0:${port}`;
  if (byKestrel ? !isDeepStrictEqual(actual, [mode]) : !isDeepStrictEqual(actual.slice(0, 3), expectedArgs)) {
    fail(w, byKestrel ? `with Kestrel's endpoint settings the args must be ${JSON.stringify([mode])} (--urls would be overridden), got ${JSON.stringify(actual)}`
      : `args must start with ${JSON.stringify(expectedArgs)} (or be ${JSON.stringify([mode])} with Kestrel__Endpoints__Http__Url=http://0.0.0.0:${port}), got ${JSON.stringify(actual)}`);
  }
  if (!(c.ports ?? []).some((p) => p.containerPort === port)) fail(w, `must expose container port ${port}`);
  if (c.livenessProbe?.httpGet?.path !== "/healthz") fail(w, "livenessProbe must GET /healthz");
  if (c.readinessProbe?.httpGet?.path !== "/readyz") fail(w, "readinessProbe must GET /readyz");
  // Every certificate and key file the settings name is in a volume mounted into the container.
  const files = Object.entries(env).filter(([k, v]) => typeof v === "string" && /(^Reco__Orleans__Tls__|__Certificate__)(Certificate)?(Path|KeyPath|CaPath)$/.test(k) && v !== "");
  for (const [key, path] of files) {
    if (!(c.volumeMounts ?? []).some((m) => path.startsWith(`${m.mountPath}/`))) fail(w, `${key}=${path} is not under a mounted volume`);
  }
  const https = env.Kestrel__Endpoints__Https__Url;
  if (typeof https === "string") {
    const httpsPort = Number(new URL(https).port);
    if (!(c.ports ?? []).some((p) => p.containerPort === httpsPort)) fail(w, `must expose container port ${httpsPort} (Kestrel__Endpoints__Https__Url)`);
    if (!env.Kestrel__Endpoints__Https__Certificate__Path || !env.Kestrel__Endpoints__Https__Certificate__KeyPath) fail(w, "an HTTPS endpoint needs Kestrel__Endpoints__Https__Certificate__Path and KeyPath");
  }
  return env;
}

// Orleans' Kubernetes hosting: the pod's identity from the downward API, the labels it lists pods by, and a service
// account allowed to read, list, watch and label pods in the namespace.
function checkKubernetesHosting(silo, env, objects, w) {
  for (const [name, path] of [["POD_NAME", "metadata.name"], ["POD_NAMESPACE", "metadata.namespace"], ["POD_IP", "status.podIP"]]) {
    if (env[name]?.fieldRef?.fieldPath !== path) fail(w, `${name} must come from the downward API (${path}) for Orleans' Kubernetes hosting`);
  }
  const labels = silo.spec.template.metadata.labels ?? {};
  for (const [label, key] of [["orleans/serviceId", "Reco__Orleans__ServiceId"], ["orleans/clusterId", "Reco__Orleans__ClusterId"]]) {
    const id = env[key] ?? "reco";
    if (labels[label] !== id) fail(w, `pod label ${label} must be '${id}' (${key}): Orleans' Kubernetes hosting lists the cluster's pods by it`);
  }
  const account = silo.spec.template.spec.serviceAccountName;
  if (!account) return fail(w, "needs a serviceAccountName for Orleans' Kubernetes hosting");
  if (!objects.some((o) => o.kind === "ServiceAccount" && o.metadata.name === account)) fail(w, `ServiceAccount ${account} is not in the render`);
  const needed = ["get", "list", "watch", "patch", ...(env.Reco__Orleans__Kubernetes__DeleteDefunctSiloPods === "true" ? ["delete"] : [])];
  const granted = new Set(objects
    .filter((o) => o.kind === "RoleBinding" && (o.subjects ?? []).some((x) => x.kind === "ServiceAccount" && x.name === account && x.namespace === silo.metadata.namespace))
    .flatMap((b) => objects.filter((r) => r.kind === b.roleRef?.kind && r.metadata.name === b.roleRef?.name))
    .flatMap((r) => (r.rules ?? []).filter((rule) => (rule.apiGroups ?? []).includes("") && (rule.resources ?? []).includes("pods")))
    .flatMap((rule) => rule.verbs ?? []));
  const missing = needed.filter((v) => !granted.has(v));
  if (missing.length > 0) fail(w, `ServiceAccount ${account} is not bound to a Role with ${missing.join(", ")} on pods`);
}

function checkRender(name, objects) {
  current = name;
  const byKindName = new Map(objects.map((o) => [`${o.kind}/${o.metadata?.name}`, o]));
  const get = (kind, n) => byKindName.get(`${kind}/${n}`);
  const configMaps = new Map(objects.filter((o) => o.kind === "ConfigMap").map((c) => [c.metadata.name, c]));
  const templates = podTemplates(objects);

  for (const o of templates) checkWorkload(o, objects, byKindName);

  // No Secret values in the repository.
  for (const s of objects.filter((o) => o.kind === "Secret")) {
    if (Object.keys(s.data ?? {}).length > 0 || Object.keys(s.stringData ?? {}).length > 0) fail(id(s), "Secrets with values must not be committed");
  }

  // Selectors and ports that must find something.
  for (const svc of objects.filter((o) => o.kind === "Service" && o.spec?.selector)) {
    const target = templates.find((t) => labelsMatch(svc.spec.selector, t.spec.template.metadata?.labels));
    if (!target) { fail(id(svc), "selector matches no pod template"); continue; }
    const names = new Set(target.spec.template.spec.containers.flatMap((c) => (c.ports ?? []).map((p) => p.name)));
    for (const p of svc.spec.ports ?? []) if (typeof p.targetPort === "string" && !names.has(p.targetPort)) fail(id(svc), `targetPort '${p.targetPort}' is not a named container port`);
  }
  for (const pdb of objects.filter((o) => o.kind === "PodDisruptionBudget")) {
    if (!templates.some((t) => labelsMatch(pdb.spec?.selector?.matchLabels, t.spec.template.metadata?.labels))) fail(id(pdb), "selector matches no pod template");
  }
  for (const pm of objects.filter((o) => o.kind === "PodMonitor")) {
    const target = templates.find((t) => labelsMatch(pm.spec?.selector?.matchLabels, t.spec.template.metadata?.labels));
    if (!target) { fail(id(pm), "selector matches no pod template"); continue; }
    const names = new Set(target.spec.template.spec.containers.flatMap((c) => (c.ports ?? []).map((p) => p.name)));
    for (const ep of pm.spec.podMetricsEndpoints ?? []) if (ep.port && !names.has(ep.port)) fail(id(pm), `port '${ep.port}' is not a named port of ${id(target)}`);
    if (pm.spec.jobLabel && !target.spec.template.metadata?.labels?.[pm.spec.jobLabel]) fail(id(pm), `jobLabel '${pm.spec.jobLabel}' is not a label of ${id(target)}'s pods`);
  }
  for (const hpa of objects.filter((o) => o.kind === "HorizontalPodAutoscaler")) {
    const ref = hpa.spec?.scaleTargetRef;
    const target = get(ref?.kind, ref?.name);
    if (!target) fail(id(hpa), `scaleTargetRef ${ref?.kind}/${ref?.name} is not in the render`);
    else if (target.spec?.replicas !== undefined) fail(id(hpa), `${id(target)} sets spec.replicas; with an HPA every apply would reset the count`);
    if ((hpa.spec?.minReplicas ?? 1) > hpa.spec?.maxReplicas) fail(id(hpa), "minReplicas exceeds maxReplicas");
  }

  // Strimzi: node pools and topics must belong to a Kafka in the render; the topic operator must run.
  const kafkas = objects.filter((o) => o.kind === "Kafka");
  const pools = objects.filter((o) => o.kind === "KafkaNodePool");
  const topics = objects.filter((o) => o.kind === "KafkaTopic");
  for (const k of kafkas) {
    const mine = pools.filter((p) => p.metadata.labels?.["strimzi.io/cluster"] === k.metadata.name);
    if (k.metadata.annotations?.["strimzi.io/node-pools"] === "enabled") {
      for (const role of ["controller", "broker"]) if (!mine.some((p) => p.spec?.roles?.includes(role))) fail(id(k), `no KafkaNodePool has the ${role} role`);
    }
    if (topics.some((t) => t.metadata.labels?.["strimzi.io/cluster"] === k.metadata.name) && !isObject(k.spec?.entityOperator?.topicOperator)) {
      fail(id(k), "KafkaTopics refer to this cluster but spec.entityOperator.topicOperator is not set: they would never be created");
    }
  }
  const brokersOf = (cluster) => pools.filter((p) => p.metadata.labels?.["strimzi.io/cluster"] === cluster && p.spec?.roles?.includes("broker"))
    .reduce((n, p) => n + (p.spec.replicas ?? 0), 0);
  for (const p of pools) if (!kafkas.some((k) => k.metadata.name === p.metadata.labels?.["strimzi.io/cluster"])) fail(id(p), "its strimzi.io/cluster names no Kafka in the render");
  for (const t of topics) {
    const cluster = t.metadata.labels?.["strimzi.io/cluster"];
    if (!kafkas.some((k) => k.metadata.name === cluster)) { fail(id(t), `strimzi.io/cluster '${cluster}' names no Kafka in the render`); continue; }
    const brokers = brokersOf(cluster);
    if (t.spec.replicas > brokers) fail(id(t), `replicas ${t.spec.replicas} exceeds the ${brokers} broker(s)`);
    const minIsr = Number(t.spec.config?.["min.insync.replicas"] ?? 1);
    if (minIsr > t.spec.replicas) fail(id(t), `min.insync.replicas ${minIsr} exceeds replicas ${t.spec.replicas}: every acks=all write would fail`);
  }
  for (const k of kafkas) {
    const cfg = k.spec?.kafka?.config ?? {};
    const brokers = brokersOf(k.metadata.name);
    for (const key of ["default.replication.factor", "offsets.topic.replication.factor", "transaction.state.log.replication.factor"]) {
      if (cfg[key] !== undefined && Number(cfg[key]) > brokers) fail(id(k), `${key} ${cfg[key]} exceeds the ${brokers} broker(s)`);
    }
  }

  // The app's settings, from the ConfigMap the silos read.
  const silo = get("Deployment", "reco-silo");
  const gateway = get("Deployment", "reco-gateway");
  if (!silo) fail("Deployment/reco-silo", "missing");
  if (!gateway) fail("Deployment/reco-gateway", "missing");
  if (!silo || !gateway) return;
  const siloEnv = checkRecoProcess(silo, "silo", 9090, configMaps, id(silo)) ?? {};
  const gatewayEnv = checkRecoProcess(gateway, "gateway", 8080, configMaps, id(gateway)) ?? {};
  const w = id(silo);
  if ((silo.spec.template.spec.terminationGracePeriodSeconds ?? 30) < MIN_SILO_GRACE_SECONDS) {
    fail(w, `terminationGracePeriodSeconds must be >= ${MIN_SILO_GRACE_SECONDS}: a stopping silo deactivates its grains and leaves the membership`);
  }
  const siloContainer = silo.spec.template.spec.containers[0];
  const podIp = siloContainer.env?.find((e) => e.name === "POD_IP");
  if (podIp?.valueFrom?.fieldRef?.fieldPath !== "status.podIP") fail(w, "POD_IP must come from the downward API (status.podIP)");
  if (siloEnv.Reco__Orleans__AdvertisedAddress !== "$(POD_IP)") fail(w, "Reco__Orleans__AdvertisedAddress must be $(POD_IP): silos and gateways reach a silo at the address it writes into the membership table");
  for (const [who, env] of [["silo", siloEnv], ["gateway", gatewayEnv]]) {
    if (env.Reco__Orleans__Clustering !== "AdoNet") fail(`${who} env`, "Reco__Orleans__Clustering must be AdoNet (localhost clustering is one machine only)");
  }
  // Orleans' TLS is all or nothing: a gateway without it cannot call TLS silos, and the other way round.
  if (Boolean(siloEnv.Reco__Orleans__Tls__CertificatePath) !== Boolean(gatewayEnv.Reco__Orleans__Tls__CertificatePath)) {
    fail("Reco__Orleans__Tls__CertificatePath", "set for the silos or for the gateways only: both use Orleans' TLS, or neither");
  }
  if (!gatewayEnv.Reco__Orleans__ConnectionString?.secretKeyRef) fail(id(gateway), "Reco__Orleans__ConnectionString must come from a Secret: the gateway finds the silos in the membership table");
  for (const port of [11111, 30000]) {
    if (!(siloContainer.ports ?? []).some((p) => p.containerPort === port)) fail(w, `must expose Orleans' port ${port}`);
  }
  if (siloEnv.Reco__Silo__Id?.fieldRef?.fieldPath !== "metadata.name") fail(w, "Reco__Silo__Id must come from the pod name (metadata.name)");
  if (siloEnv.Reco__Orleans__Kubernetes__Enabled === "true") checkKubernetesHosting(silo, siloEnv, objects, w);
  if (siloEnv.Reco__Storage__Provider !== "Postgres") fail(w, "Reco__Storage__Provider must be Postgres");
  if (!siloEnv.Reco__Storage__ConnectionString?.secretKeyRef) fail(w, "Reco__Storage__ConnectionString must come from a Secret");
  for (const [who, env] of [["silo", siloEnv], ["gateway", gatewayEnv]]) {
    const bootstrap = env.Reco__Kafka__BootstrapServers;
    const ok = typeof bootstrap === "string" && kafkas.some((k) => {
      const ports = (k.spec?.kafka?.listeners ?? []).map((l) => l.port);
      return bootstrap.split(",").every((hp) => {
        const [host, port] = hp.split(":");
        return host.split(".")[0] === `${k.metadata.name}-kafka-bootstrap` && ports.includes(Number(port));
      });
    });
    if (!ok) fail(`${who} env`, `Reco__Kafka__BootstrapServers '${bootstrap}' is not the bootstrap Service and listener port of a Strimzi Kafka in the render`);
  }

  // Topics: the three the app uses, and no other under its prefix (the first runtime's item-deltas, control and
  // directory are gone); the catalog single and compacted (every silo reads all of it, one record per item).
  const prefix = siloEnv.Reco__Kafka__TopicPrefix ?? "reco";
  const byTopic = new Map(topics.map((t) => [t.spec?.topicName ?? t.metadata.name, t]));
  for (const suffix of TOPIC_SUFFIXES) if (!byTopic.has(`${prefix}.${suffix}`)) fail("KafkaTopics", `topic ${prefix}.${suffix} is missing`);
  for (const name of byTopic.keys()) {
    if (name.startsWith(`${prefix}.`) && !TOPIC_SUFFIXES.includes(name.slice(prefix.length + 1))) {
      fail("KafkaTopics", `topic ${name} is not one the app uses (${TOPIC_SUFFIXES.map((x) => `${prefix}.${x}`).join(", ")})`);
    }
  }
  const events = byTopic.get(`${prefix}.events`);
  const catalog = byTopic.get(`${prefix}.catalog`);
  if (catalog && catalog.spec.partitions !== 1) fail(id(catalog), `${prefix}.catalog must have exactly 1 partition (silos read partition 0)`);
  if (catalog && catalog.spec.config?.["cleanup.policy"] !== "compact") fail(id(catalog), "cleanup.policy must be compact");
  if (events && siloEnv.Reco__Kafka__Partitions !== undefined && Number(siloEnv.Reco__Kafka__Partitions) !== events.spec.partitions) {
    fail("ConfigMap", `Reco__Kafka__Partitions=${siloEnv.Reco__Kafka__Partitions} but ${prefix}.events has ${events.spec.partitions} partitions`);
  }
  const siloHpa = objects.find((o) => o.kind === "HorizontalPodAutoscaler" && o.spec?.scaleTargetRef?.name === "reco-silo");
  if (siloHpa && events && siloHpa.spec.maxReplicas > events.spec.partitions) {
    fail(id(siloHpa), `maxReplicas ${siloHpa.spec.maxReplicas} exceeds the ${events.spec.partitions} partitions: the extra silos would read no partition`);
  }

  // Only silos may reach Orleans' silo port, only gateways its client port (and Prometheus the metrics port).
  const policy = objects.find((o) => o.kind === "NetworkPolicy" && labelsMatch(o.spec?.podSelector?.matchLabels, silo.spec.template.metadata.labels));
  if (!policy) fail("NetworkPolicy", "no NetworkPolicy selects the silo pods");
  else {
    if (!policy.spec.policyTypes?.includes("Ingress")) fail(id(policy), "policyTypes must include Ingress");
    const peersOf = (port) => (policy.spec.ingress ?? []).flatMap((r) => (r.ports ?? []).some((p) => p.port === port) ? r.from ?? [] : []);
    const admits = (port, pod) => peersOf(port).some((p) => !p.namespaceSelector && labelsMatch(p.podSelector?.matchLabels, pod.spec.template.metadata.labels));
    if (!admits(30000, gateway)) fail(id(policy), "gateway pods cannot reach Orleans' client port 30000");
    if (!admits(11111, silo)) fail(id(policy), "silo pods cannot reach each other on Orleans' silo port 11111");
    if (admits(11111, gateway)) fail(id(policy), "gateway pods may reach the silo-to-silo port 11111; only silos should");
    if ((policy.spec.ingress ?? []).some((r) => !r.from || r.from.length === 0)) fail(id(policy), "an ingress rule without 'from' admits everyone");
  }

  // The dashboard ConfigMap carries the file as it is.
  const dashboardMap = objects.find((o) => o.kind === "ConfigMap" && o.metadata.labels?.grafana_dashboard === "1");
  if (!dashboardMap) fail("ConfigMap", "no ConfigMap with label grafana_dashboard=1 (the Grafana dashboard)");
  else if (!Object.values(dashboardMap.data ?? {}).some((v) => v === readFileSync(args.dashboard, "utf8"))) fail(id(dashboardMap), `does not hold ${args.dashboard} unchanged`);

  // The PrometheusRule in the render is the rules file.
  const rule = objects.find((o) => o.kind === "PrometheusRule");
  if (!rule) fail("PrometheusRule", "missing from the render");
  else if (!isDeepStrictEqual(rule.spec, rulesFile)) fail(id(rule), `spec differs from ${args.rules}`);
}

// ---- metric names in PromQL ----

function checkMetricNames(where, expr) {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  for (const [token] of withoutStrings.matchAll(/\b(?:reco|http_server|orleans)_[a-z0-9_]+\b/g)) {
    const base = token.replace(/_(bucket|count|sum)$/, "");
    const known = APP_METRICS.has(token) || (APP_HISTOGRAMS.has(base) && base !== token);
    if (!known) fail(where, `unknown metric '${token}' (the app exports ${[...APP_METRICS, ...APP_HISTOGRAMS].join(", ")}; histograms as _bucket/_count/_sum)`);
  }
}

// ---- main ----

// The schema packages must reject a broken object; otherwise every "valid" below would mean nothing.
{
  const Deployment = await modelFor("apps/v1", "Deployment");
  if (!Deployment) {
    console.error(`validate-manifests: kubernetes-models is not installed under ${args.modules}`);
    process.exit(2);
  }
  const broken = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "x" }, spec: { selector: {}, template: { spec: { containers: [{ name: "c", ports: [{ containerPort: "not-a-number" }] }] } } } };
  if (schemaErrors(Deployment, broken) === null) {
    console.error("validate-manifests: the schema validator accepted a broken Deployment; refusing to trust it");
    process.exit(2);
  }
}

current = args.rules;
const rulesFile = YAML.parse(readFileSync(args.rules, "utf8"));
checkRuleGroups(rulesFile?.groups, "groups");
const alertNames = new Set((rulesFile?.groups ?? []).flatMap((g) => (g.rules ?? []).map((r) => r.alert)));
for (const a of REQUIRED_ALERTS) if (!alertNames.has(a)) fail("groups", `alert ${a} is missing`);
for (const g of rulesFile?.groups ?? []) for (const r of g.rules ?? []) if (typeof r.expr === "string") checkMetricNames(`alert ${r.alert ?? r.record}`, r.expr);

current = args["prometheus-rule"];
const promRules = readYamlDocuments(args["prometheus-rule"]);
if (promRules.length !== 1 || promRules[0].kind !== "PrometheusRule") fail("file", "must hold exactly one PrometheusRule");
else if (!isDeepStrictEqual(promRules[0].spec, rulesFile)) {
  fail(id(promRules[0]), `spec differs from ${args.rules}; run tests/scripts/check-deploy.sh --sync-rules`);
}

current = args.dashboard;
let dashboard = null;
try {
  dashboard = JSON.parse(readFileSync(args.dashboard, "utf8"));
} catch (e) {
  fail("file", `not valid JSON: ${e.message}`);
}
if (dashboard) {
  if (typeof dashboard.uid !== "string" || typeof dashboard.title !== "string") fail("dashboard", "uid and title are required");
  const panels = (dashboard.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
  for (const re of REQUIRED_PANELS) if (!panels.some((p) => re.test(p.title ?? ""))) fail("dashboard", `no panel titled like ${re}`);
  for (const p of panels.filter((p) => p.type !== "row")) {
    if (!Array.isArray(p.targets) || p.targets.length === 0) fail(`panel '${p.title}'`, "has no targets");
    for (const t of p.targets ?? []) {
      if (typeof t.expr !== "string" || t.expr.trim() === "") fail(`panel '${p.title}'`, `target ${t.refId} has no expr`);
      else checkMetricNames(`panel '${p.title}'`, t.expr);
    }
  }
}

for (const spec of args.render) {
  const eq = spec.indexOf("=");
  const name = spec.slice(0, eq);
  const file = spec.slice(eq + 1);
  current = name;
  const objects = readYamlDocuments(file);
  const seen = new Set();
  let builtin = 0;
  let custom = 0;
  for (const o of objects) {
    const w = id(o);
    if (typeof o.apiVersion !== "string" || typeof o.kind !== "string" || typeof o.metadata?.name !== "string") {
      fail(w, "apiVersion, kind and metadata.name are required");
      continue;
    }
    const key = `${o.apiVersion.split("/")[0]}/${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
    if (seen.has(key)) fail(w, "defined twice");
    seen.add(key);
    const customCheck = CUSTOM_CHECKS[`${o.apiVersion}/${o.kind}`];
    if (customCheck) {
      customCheck(o, w);
      custom++;
      continue;
    }
    const Model = await modelFor(o.apiVersion, o.kind);
    if (!Model) {
      fail(w, `unknown apiVersion/kind ${o.apiVersion} ${o.kind}: neither a built-in kind nor a checked custom resource`);
      continue;
    }
    const problem = schemaErrors(Model, o);
    if (problem) fail(w, `schema: ${problem}`);
    MONITORING_CHECKS[o.kind]?.(o, w);
    builtin++;
  }
  checkRender(name, objects);
  console.log(`validate-manifests: ${name}: ${objects.length} objects (${builtin} schema-validated, ${custom} Strimzi/CNPG checked)`);
}

if (errors.length > 0) {
  console.error(`validate-manifests: ${errors.length} problem(s):`);
  for (const e of errors) console.error(`  - ${e}`);
  process.exit(1);
}
console.log("validate-manifests: all checks passed");
