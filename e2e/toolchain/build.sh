#!/usr/bin/env bash
# Builds the local control plane's binaries from Go modules, once per pinned version.
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl  (k8s.io/kubernetes + staging replaces)
#   etcd                                                               (go.etcd.io/etcd/server/v3)
#   kwok                                                               (sigs.k8s.io/kwok)
# Output: $KEDA_TOOLS_CACHE/<component>-<version>/bin/..., printed as KEY=path lines on stdout.
# Binaries live outside the repo and are never committed. Logs of each step go next to them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
CACHE=${KEDA_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/keda-ts/tools}
mkdir -p "$CACHE"
# A caller's GOFLAGS (e.g. -p=1 on a busy machine) are kept.
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:+$GOFLAGS }-buildvcs=false"

say() { echo "[toolchain] $*" >&2; }

# run_logged <log> <cmd...>: runs a build step, and on failure names the command and its log.
run_logged() {
  local log=$1; shift
  if ! "$@" >>"$log" 2>&1; then
    say "FAILED: $*"
    say "log: $log"
    tail -n 30 "$log" >&2 || true
    exit 1
  fi
}

build_kubernetes() {
  local K=$KUBERNETES_VERSION S="v0.${KUBERNETES_VERSION#1.}" dir="$CACHE/kubernetes-v$KUBERNETES_VERSION"
  local bins=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
  if [ -f "$dir/.complete" ]; then return; fi
  say "building kubernetes v$K (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl); first time takes ~10 min"
  rm -rf "$dir"; mkdir -p "$dir/bin" "$dir/mod"
  local log="$dir/build.log"; : >"$log"
  (
    cd "$dir/mod"
    run_logged "$log" go mod init local.invalid/k8s-tools
    local m
    for m in api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider \
      cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api \
      cri-client csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms \
      kube-aggregator kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics \
      mount-utils pod-security-admission sample-apiserver sample-cli-plugin sample-controller; do
      run_logged "$log" go mod edit -replace="k8s.io/$m=k8s.io/$m@$S"
    done
    local pkgs=()
    for b in "${bins[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
    local getargs=()
    for p in "${pkgs[@]}"; do getargs+=("$p@v$K"); done
    run_logged "$log" go get -tool "${getargs[@]}"
    local minor; minor=$(echo "$K" | cut -d. -f2)
    local ldf="-s -w" p
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ldf="$ldf -X $p.gitVersion=v$K -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=2026-01-01T00:00:00Z"
    done
    run_logged "$log" go build -p 2 -trimpath -ldflags "$ldf" -o "$dir/bin/" "${pkgs[@]}"
  )
  touch "$dir/.complete"
}

build_etcd() {
  local dir="$CACHE/etcd-v$ETCD_VERSION"
  if [ -f "$dir/.complete" ]; then return; fi
  say "building etcd v$ETCD_VERSION"
  rm -rf "$dir"; mkdir -p "$dir/bin" "$dir/mod"
  local log="$dir/build.log"; : >"$log"
  (
    cd "$dir/mod"
    run_logged "$log" go mod init local.invalid/etcd-tools
    run_logged "$log" go get -tool "go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
    run_logged "$log" go build -trimpath -ldflags "-s -w" -o "$dir/bin/etcd" go.etcd.io/etcd/server/v3
  )
  touch "$dir/.complete"
}

# go_install <name> <version> <pkg...>: plain `go install` for modules without replace directives.
go_install() {
  local name=$1 version=$2; shift 2
  local dir="$CACHE/$name-v$version"
  if [ -f "$dir/.complete" ]; then return; fi
  say "building $name v$version"
  rm -rf "$dir"; mkdir -p "$dir/bin"
  local log="$dir/build.log"; : >"$log"
  local pkg
  for pkg in "$@"; do
    GOBIN="$dir/bin" run_logged "$log" go install -trimpath -ldflags "-s -w" "$pkg@v$version"
  done
  touch "$dir/.complete"
}

# helm, linked the way helm's Makefile links its releases: internal/version carries the version, the
# tag's commit (HELM_GIT_COMMIT in versions.env) and tree state, so `helm version` is right; and
# pkg/chartutil and pkg/lint/rules carry the Kubernetes version helm assumes without --kube-version
# (1.<minor of its k8s.io/client-go>, as the Makefile derives it), which a plain `go install` leaves
# at helm's fallback v1.20.0, below charts' kubeVersion constraints.
# HELM_RECIPE is part of the cache dir: bump it when this recipe changes, so cached helms are rebuilt.
HELM_RECIPE=r2
build_helm() {
  local dir="$CACHE/helm-v$HELM_VERSION-$HELM_RECIPE" mod="helm.sh/helm/v3@v$HELM_VERSION"
  if [ -f "$dir/.complete" ]; then return; fi
  say "building helm v$HELM_VERSION"
  rm -rf "$dir"; mkdir -p "$dir/bin"
  local log="$dir/build.log"; : >"$log"
  local gomod client_go=""
  gomod=$(cd "$CACHE" && go mod download -json "$mod" 2>>"$log" | grep -o '"GoMod": "[^"]*"' | cut -d'"' -f4) || true
  if [ -n "$gomod" ] && [ -f "$gomod" ]; then
    client_go=$(awk '$1 == "k8s.io/client-go" { print $2; exit }' "$gomod")
  fi
  if [[ ! "$client_go" =~ ^v([0-9]+)\.([0-9]+)\. ]]; then
    say "FAILED: no k8s.io/client-go version in the go.mod of $mod (${gomod:-not downloaded})"; tail -n 30 "$log" >&2; exit 1
  fi
  local k8s_major=$((BASH_REMATCH[1] + 1)) k8s_minor=${BASH_REMATCH[2]}
  local v=helm.sh/helm/v3/internal/version p
  local ldf="-s -w -X $v.version=v$HELM_VERSION -X $v.gitCommit=$HELM_GIT_COMMIT -X $v.gitTreeState=clean"
  for p in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    ldf+=" -X $p.k8sVersionMajor=$k8s_major -X $p.k8sVersionMinor=$k8s_minor"
  done
  GOBIN="$dir/bin" run_logged "$log" go install -trimpath -ldflags "$ldf" "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION"
  touch "$dir/.complete"
}

# FerretDB reads its version from build/version/version.txt, a generated file that its module zip
# lacks (without it the binary panics at start), so it is built from a copy of the module source
# with that file written. The PostgreSQL backend is left out (build tag); SQLite stays.
build_ferretdb() {
  local dir="$CACHE/ferretdb-v$FERRETDB_VERSION" mod="github.com/FerretDB/FerretDB@v$FERRETDB_VERSION"
  if [ -f "$dir/.complete" ]; then return; fi
  say "building ferretdb v$FERRETDB_VERSION"
  rm -rf "$dir"; mkdir -p "$dir/bin"
  local log="$dir/build.log"; : >"$log"
  local src
  src=$(cd "$CACHE" && go mod download -json "$mod" 2>>"$log" | grep -o '"Dir": "[^"]*"' | cut -d'"' -f4) || true
  if [ -z "$src" ] || [ ! -d "$src" ]; then
    say "FAILED: go mod download $mod"; tail -n 30 "$log" >&2; exit 1
  fi
  cp -r "$src" "$dir/src"; chmod -R u+w "$dir/src"
  echo "v$FERRETDB_VERSION" >"$dir/src/build/version/version.txt"
  (
    cd "$dir/src"
    run_logged "$log" go build -trimpath -tags ferretdb_no_postgresql -ldflags "-s -w" -o "$dir/bin/ferretdb" ./cmd/ferretdb
  )
  rm -rf "$dir/src"
  touch "$dir/.complete"
}

# maven_jars <name> <version> <groupId:artifactId:version>...: the artifacts and their runtime
# dependencies as jars in <dir>/libs (a throwaway pom drives `mvn dependency:copy-dependencies`).
maven_jars() {
  local name=$1 version=$2; shift 2
  local dir="$CACHE/$name-v$version"
  if [ -f "$dir/.complete" ]; then return; fi
  say "fetching $name v$version jars from Maven Central"
  rm -rf "$dir"; mkdir -p "$dir/libs"
  local log="$dir/build.log"; : >"$log"
  local deps="" gav g a v
  for gav in "$@"; do
    IFS=: read -r g a v <<<"$gav"
    deps+="<dependency><groupId>$g</groupId><artifactId>$a</artifactId><version>$v</version></dependency>"
  done
  cat >"$dir/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.invalid</groupId><artifactId>$name-jars</artifactId><version>1</version>
  <dependencies>$deps</dependencies>
</project>
POM
  run_logged "$log" mvn -B -q -f "$dir/pom.xml" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$dir/libs"
  touch "$dir/.complete"
}

# An OpenTelemetry Collector with only what the OpenTelemetry e2e needs: the OTLP receiver (gRPC and
# HTTP) and the file exporter (contrib), which writes what it receives as OTLP JSON lines. The
# collector's builder (ocb) generates the main package from the manifest below and compiles it.
# OTELCOL_RECIPE is part of the cache dir: bump it when the manifest changes, so cached collectors are rebuilt.
OTELCOL_RECIPE=r2
build_otelcol() {
  local dir="$CACHE/otelcol-v$OTELCOL_VERSION-$OTELCOL_RECIPE" v=$OTELCOL_VERSION
  if [ -f "$dir/.complete" ]; then return; fi
  say "building otelcol v$v (otlpreceiver + fileexporter) with ocb"
  rm -rf "$dir"; mkdir -p "$dir/bin" "$dir/src"
  local log="$dir/build.log"; : >"$log"
  GOBIN="$dir/src" run_logged "$log" go install -trimpath -ldflags "-s -w" "go.opentelemetry.io/collector/cmd/builder@v$v"
  cat >"$dir/manifest.yaml" <<YAML
dist:
  name: otelcol-keda-ts
  description: OTLP receiver for the keda-ts e2e tests
  output_path: $dir/src/otelcol
receivers:
  - gomod: go.opentelemetry.io/collector/receiver/otlpreceiver v$v
exporters:
  - gomod: github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter v$v
# env: the collector's default URI scheme, which it requires among the providers.
providers:
  - gomod: go.opentelemetry.io/collector/confmap/provider/envprovider v$OTELCOL_STABLE_VERSION
  - gomod: go.opentelemetry.io/collector/confmap/provider/fileprovider v$OTELCOL_STABLE_VERSION
YAML
  run_logged "$log" "$dir/src/builder" --config "$dir/manifest.yaml" --ldflags "-s -w"
  mv "$dir/src/otelcol/otelcol-keda-ts" "$dir/bin/otelcol"
  rm -rf "$dir/src"
  touch "$dir/.complete"
}

what=${1:-all}
case "$what" in
  all|control-plane)
    build_etcd
    go_install kwok "$KWOK_VERSION" sigs.k8s.io/kwok/cmd/kwok
    build_kubernetes
    ;;&
  all|extras)
    build_helm
    go_install grpcurl "$GRPCURL_VERSION" github.com/fullstorydev/grpcurl/cmd/grpcurl
    build_ferretdb
    build_otelcol
    # slf4j-simple: the broker logs to stderr (its own jars bring only the slf4j API).
    maven_jars kafka "$KAFKA_VERSION" "org.apache.kafka:kafka_2.13:$KAFKA_VERSION" "org.slf4j:slf4j-simple:$SLF4J_SIMPLE_VERSION"
    ;;
  # helm alone: what the apps' chart identities (e2e/src/identities.ts) render the RBAC with.
  helm)
    build_helm
    ;;
  # the OpenTelemetry Collector alone (e2e/tests/opentelemetry.e2e.ts).
  otelcol)
    build_otelcol
    ;;
esac

kwok_stages="$(go env GOMODCACHE)/sigs.k8s.io/kwok@v$KWOK_VERSION/kustomize/stage"
if [ ! -d "$kwok_stages" ]; then
  (cd "$CACHE" && go mod download "sigs.k8s.io/kwok@v$KWOK_VERSION" >/dev/null 2>&1) || true
fi
cat <<OUT
KUBERNETES_VERSION=$KUBERNETES_VERSION
KUBE_BIN_DIR=$CACHE/kubernetes-v$KUBERNETES_VERSION/bin
ETCD_BIN=$CACHE/etcd-v$ETCD_VERSION/bin/etcd
KWOK_BIN=$CACHE/kwok-v$KWOK_VERSION/bin/kwok
KWOK_STAGES_DIR=$kwok_stages
HELM_BIN=$CACHE/helm-v$HELM_VERSION-$HELM_RECIPE/bin/helm
GRPCURL_BIN=$CACHE/grpcurl-v$GRPCURL_VERSION/bin/grpcurl
KAFKA_LIBS_DIR=$CACHE/kafka-v$KAFKA_VERSION/libs
FERRETDB_BIN=$CACHE/ferretdb-v$FERRETDB_VERSION/bin/ferretdb
OTELCOL_BIN=$CACHE/otelcol-v$OTELCOL_VERSION-$OTELCOL_RECIPE/bin/otelcol
OUT
