#!/usr/bin/env bash
# Validates deploy/ without a cluster or a Docker engine:
#   1. `kubectl kustomize` renders the base and every overlay;
#   2. tests/scripts/validate-manifests.mjs checks the renders against the Kubernetes schemas (npm
#      kubernetes-models), the Strimzi/CloudNativePG/Prometheus Operator resources, the references between
#      objects and the app's own rules, and the dashboard;
#   3. `promtool check rules` on the alert rules;
#   4. `yamllint --strict` on deploy/;
#   5. static checks of the Dockerfile (what it copies exists; its project list is the host's closure).
# Installs what it lacks (Debian packages through apt, npm packages into a cache folder outside the repository).
# A missing tool is a failure, never a skip. Exit code 0 only if everything passed.
#
#   tests/scripts/check-deploy.sh                 run every check
#   tests/scripts/check-deploy.sh --sync-rules    rewrite deploy/monitoring/prometheus-rule.yaml from alerts.rules.yml
set -euo pipefail

cd "$(dirname "$(readlink -f "$0")")/../.."

DEPLOY=deploy
OVERLAYS=(dev prod)
RULES=deploy/monitoring/alerts.rules.yml
PROM_RULE=deploy/monitoring/prometheus-rule.yaml
DASHBOARD=deploy/monitoring/grafana-dashboard.json
DOCKERFILE=deploy/docker/Dockerfile
HOST_PROJECT=host/RecoCluster.Host.csproj
VALIDATOR=tests/scripts/validate-manifests.mjs

# Pinned so a new release cannot change the verdict. kubernetes-models 5.1.0 declares Node >= 22 but runs on the
# Node 20 these machines have (its code is plain ES modules); the check below would catch it if it did not.
NPM_PACKAGES=(kubernetes-models@5.1.0 @kubernetes-models/prometheus-operator@6.0.0 yaml@2.9.1)
# Outside the repository: survives fresh clones (CI) and never shows in `git status`.
TOOLS_DIR="${RECO_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/reco-tools}"
MIN_KUSTOMIZE_MAJOR=5

log() { echo "check-deploy: $*" >&2; }
# Anything that fails without a message of its own still says where.
trap 'echo "check-deploy: FAILED: unexpected error (exit $?) at line $LINENO: $BASH_COMMAND" >&2' ERR
die() {
  echo "check-deploy: FAILED: $*" >&2
  exit 1
}

as_root() {
  if [[ "$(id -u)" -eq 0 ]]; then
    "$@"
  else
    command -v sudo >/dev/null 2>&1 || die "need root to run: $* (and sudo is not installed)"
    sudo "$@"
  fi
}

is_installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == 'install ok installed' ]]
}

# Like ./reco's ensure_packages, without recommended packages (none of these tools needs them).
ensure_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    is_installed "$pkg" || missing+=("$pkg")
  done
  ((${#missing[@]} == 0)) && return 0
  command -v apt-get >/dev/null 2>&1 || die "cannot install ${missing[*]}: apt-get is not available"
  log "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
    die "apt-get install ${missing[*]} failed"
}

# ---- tools ----

# `kubectl kustomize` with kustomize v5: the manifests use `labels` and `patches` with targets. Debian 12's own
# kubernetes-client (1.20) embeds kustomize v2.0.3, which knows neither, so it is refused rather than used.
ensure_kubectl() {
  if ! command -v kubectl >/dev/null 2>&1; then
    local candidate
    candidate="$(apt-cache policy kubectl 2>/dev/null | awk '/Candidate:/ { print $2 }')"
    [[ -n "$candidate" && "$candidate" != "(none)" ]] ||
      die "kubectl is not installed and apt offers no 'kubectl' package. Install kubectl >= 1.27 (kustomize v5), e.g. from the Kubernetes apt repository (pkgs.k8s.io); Debian's kubernetes-client 1.20 is too old."
    ensure_packages kubectl
    command -v kubectl >/dev/null 2>&1 || die "the kubectl package is installed but no kubectl is on PATH"
  fi
  local version
  version="$(kubectl version --client 2>/dev/null | awk -F': *' '/Kustomize Version/ { print $2 }' || true)"
  [[ "$version" =~ ^v([0-9]+)\. ]] || die "cannot tell kubectl's kustomize version (kubectl version --client: '$version')"
  ((BASH_REMATCH[1] >= MIN_KUSTOMIZE_MAJOR)) ||
    die "kubectl embeds kustomize $version; v$MIN_KUSTOMIZE_MAJOR or newer is needed (install a newer kubectl)"
  log "kubectl kustomize $version"
}

ensure_node() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    ensure_packages nodejs npm
  fi
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    die "node and npm are required"
  fi
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  ((major >= 18)) || die "Node.js $(node --version) is too old; 18 or newer is needed"
}

# npm packages in a folder named after their versions, installed once; a half-finished install never counts.
NPM_DIR=""
ensure_npm_packages() {
  local key
  key="$(printf '%s\n' "${NPM_PACKAGES[@]}" | sha256sum | cut -c1-16)"
  NPM_DIR="$TOOLS_DIR/npm-$key"
  [[ -f "$NPM_DIR/.complete" ]] && return 0
  log "installing npm packages into $NPM_DIR: ${NPM_PACKAGES[*]}"
  mkdir -p "$TOOLS_DIR"
  local tmp
  tmp="$(mktemp -d "$TOOLS_DIR/npm-install.XXXXXX")"
  echo '{"name":"reco-deploy-check","private":true}' >"$tmp/package.json"
  if ! npm install --no-save --no-audit --no-fund --no-package-lock --loglevel=error --prefix "$tmp" "${NPM_PACKAGES[@]}" >"$tmp/npm.log" 2>&1; then
    cat "$tmp/npm.log" >&2
    rm -rf "$tmp"
    die "npm install ${NPM_PACKAGES[*]} failed"
  fi
  touch "$tmp/.complete"
  rm -rf "$NPM_DIR"
  mv "$tmp" "$NPM_DIR"
}

# promtool comes from Debian's `prometheus` package. It is unpacked into the cache instead of installed: installing
# it would also install (and on systemd machines start) a Prometheus server listening on :9090.
PROMTOOL=""
ensure_promtool() {
  if command -v promtool >/dev/null 2>&1; then
    PROMTOOL="$(command -v promtool)"
    return 0
  fi
  local dir="$TOOLS_DIR/prometheus-deb"
  PROMTOOL="$dir/usr/bin/promtool"
  [[ -x "$PROMTOOL" ]] && return 0
  command -v apt-get >/dev/null 2>&1 || die "promtool is missing and apt-get is not available to fetch Debian's prometheus package"
  log "fetching promtool from Debian's prometheus package into $dir"
  mkdir -p "$TOOLS_DIR"
  local tmp
  tmp="$(mktemp -d "$TOOLS_DIR/prometheus-deb.XXXXXX")"
  # `apt-get download` needs no root, but needs package lists: update them only when the first try fails.
  if ! (cd "$tmp" && apt-get download -qq prometheus >/dev/null 2>&1); then
    as_root apt-get update -qq >&2
    (cd "$tmp" && apt-get download -qq prometheus >&2) || {
      rm -rf "$tmp"
      die "apt-get download prometheus failed"
    }
  fi
  dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/root" || {
    rm -rf "$tmp"
    die "could not unpack the prometheus package"
  }
  rm -rf "$dir"
  mv "$tmp/root" "$dir"
  rm -rf "$tmp"
  [[ -x "$PROMTOOL" ]] || die "the prometheus package holds no usr/bin/promtool"
  # Only promtool is used; the server binary is as large and never runs.
  rm -f "$dir/usr/bin/prometheus"
}

ensure_yamllint() {
  command -v yamllint >/dev/null 2>&1 || ensure_packages yamllint
  command -v yamllint >/dev/null 2>&1 || die "yamllint is required"
}

# ---- PrometheusRule from the plain rules file ----

# The PrometheusRule is the rules file's body under `spec:`, comments included, so the two never drift apart.
render_prometheus_rule() {
  cat <<'EOF'
# Generated from alerts.rules.yml by `tests/scripts/check-deploy.sh --sync-rules`: edit that file, not this one.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: reco
spec:
EOF
  sed -n '/^groups:/,$p' "$RULES" | sed 's/^\(.\)/  \1/'
}

if [[ "${1:-}" == "--sync-rules" ]]; then
  render_prometheus_rule >"$PROM_RULE"
  log "wrote $PROM_RULE from $RULES"
  exit 0
elif (($# > 0)); then
  echo "usage: $0 [--sync-rules]" >&2
  exit 2
fi

# ---- checks ----

FAILURES=()
failed() {
  echo "check-deploy: FAILED: $*" >&2
  FAILURES+=("$*")
}

WORK="$(mktemp -d /tmp/reco-check-deploy.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

ensure_kubectl
ensure_node
ensure_npm_packages
ensure_promtool
ensure_yamllint

# 1. Render.
RENDERS=()
for target in base "${OVERLAYS[@]}"; do
  dir="$DEPLOY/k8s/overlays/$target"
  [[ "$target" == base ]] && dir="$DEPLOY/k8s/base"
  out="$WORK/$target.yaml"
  if kubectl kustomize "$dir" >"$out" 2>"$WORK/$target.err"; then
    log "rendered $dir: $(grep -c '^kind:' "$out") objects"
    RENDERS+=(--render "$target=$out")
  else
    cat "$WORK/$target.err" >&2
    failed "kubectl kustomize $dir"
  fi
done

# 2. Schemas, custom resources, references, rules file vs PrometheusRule, dashboard.
if ((${#RENDERS[@]} > 0)); then
  node "$VALIDATOR" --modules "$NPM_DIR" "${RENDERS[@]}" \
    --rules "$RULES" --prometheus-rule "$PROM_RULE" --dashboard "$DASHBOARD" ||
    failed "manifest validation (see the problems above)"
fi
if ! diff -u "$PROM_RULE" <(render_prometheus_rule) >"$WORK/rule.diff"; then
  cat "$WORK/rule.diff" >&2
  failed "$PROM_RULE is not generated from $RULES: run tests/scripts/check-deploy.sh --sync-rules"
fi

# 3. Alert rules.
if "$PROMTOOL" check rules "$RULES" >"$WORK/promtool.out" 2>&1; then
  log "promtool: $(tr '\n' ' ' <"$WORK/promtool.out")"
else
  cat "$WORK/promtool.out" >&2
  failed "promtool check rules $RULES"
fi

# 4. YAML style.
if yamllint --strict -c "$DEPLOY/.yamllint" "$DEPLOY" >&2; then
  log "yamllint: deploy/ is clean"
else
  failed "yamllint on $DEPLOY"
fi

# 5. Dockerfile: every file it copies from the context exists, and it restores exactly the host's project closure
# (a new ProjectReference must be copied before the restore, or the image build breaks).
dockerfile_ok=1
while read -r src; do
  if [[ ! -e "$src" ]]; then
    failed "$DOCKERFILE copies '$src', which does not exist"
    dockerfile_ok=0
  fi
done < <(awk 'toupper($1) == "COPY" && $2 !~ /^--from/ { for (i = 2; i < NF; i++) if ($i !~ /^--/) print $i }' "$DOCKERFILE")

closure() {
  local queue=("$1") seen=() project dir ref resolved
  while ((${#queue[@]} > 0)); do
    project="${queue[0]}"
    queue=("${queue[@]:1}")
    [[ " ${seen[*]-} " == *" $project "* ]] && continue
    seen+=("$project")
    dir="$(dirname "$project")"
    while read -r ref; do
      resolved="$(realpath -m --relative-to=. "$dir/${ref//\\//}")"
      queue+=("$resolved")
    done < <(sed -n 's/.*<ProjectReference Include="\([^"]*\)".*/\1/p' "$project")
  done
  printf '%s\n' "${seen[@]}" | sort
}
expected="$(closure "$HOST_PROJECT")"
copied="$(awk 'toupper($1) == "COPY" && $2 ~ /\.csproj$/ { print $2 }' "$DOCKERFILE" | grep -v '^build/' | sort || true)"
if [[ "$expected" != "$copied" ]]; then
  failed "$DOCKERFILE restores these projects:"$'\n'"$copied"$'\n'"but $HOST_PROJECT needs:"$'\n'"$expected"
  dockerfile_ok=0
fi
assembly="$(sed -n 's/.*<AssemblyName>\(.*\)<\/AssemblyName>.*/\1/p' "$HOST_PROJECT")"
if ! grep -q "^ENTRYPOINT \[\"dotnet\", \"$assembly.dll\"\]" "$DOCKERFILE"; then
  failed "$DOCKERFILE must end in ENTRYPOINT [\"dotnet\", \"$assembly.dll\"] (AssemblyName of $HOST_PROJECT)"
  dockerfile_ok=0
fi
# The Kafka client's native library is the NuGet package's own: the image must neither install a distro
# librdkafka (which the loader would then have to ignore) nor lose the bundled one in publishing.
if grep -qiE '^[^#]*apt-get[^#]*librdkafka' "$DOCKERFILE"; then
  failed "$DOCKERFILE installs a distro librdkafka; the bundled one from librdkafka.redist is the one that runs"
  dockerfile_ok=0
fi
if ! grep -qF 'runtimes/linux-x64/native/centos8-librdkafka.so' "$DOCKERFILE"; then
  failed "$DOCKERFILE does not check that the published output holds the bundled centos8-librdkafka.so"
  dockerfile_ok=0
fi
((dockerfile_ok)) && log "Dockerfile: sources exist, restores the host's $(wc -l <<<"$expected") projects, runs $assembly.dll"

if ((${#FAILURES[@]} > 0)); then
  echo "check-deploy: ${#FAILURES[@]} check(s) failed" >&2
  exit 1
fi
log "all deploy checks passed"
