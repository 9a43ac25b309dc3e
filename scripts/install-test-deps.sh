#!/usr/bin/env bash
# Installs what the end-to-end tests drive: real clients nobody here wrote; and
# cargo-machete, which `make lint` runs to find unused dependencies.
#   - Debian packages: dig (dnsutils), skopeo, curl (OCI 1.1 referrers and blob delete,
#     which skopeo does not speak), the CNCF distribution registry; for the
#     docker backend's component image: iproute2's ip and busybox (static).
#   - The Azure CLI, pinned, in a virtualenv in a cache outside the repository,
#     reused across runs; its path is written to $PULLSIM_CACHE/az-path.
#   - Python's jsonschema and junitparser, pinned, in another virtualenv there: real
#     consumers of the JSON and JUnit reports; its python is written to
#     $PULLSIM_CACHE/python-tools-path.
#   - check-jsonschema, pinned, in a third virtualenv: YAML parsed by a real parser and
#     held to the GitHub Actions workflow and GitLab CI schemas it ships (for the CI
#     recipes in examples/ci); its path is written to $PULLSIM_CACHE/check-jsonschema-path.
#   - The Azure SDK for Python (azure-mgmt-web/network/containerregistry/privatedns/
#     resource/resource-deployments, azure-identity), pinned, in a fourth virtualenv; its python is written to
#     $PULLSIM_CACHE/python-sdk-path.
# Under CI=true any failure is fatal; elsewhere too, since a test that cannot
# find its client must not silently skip.
set -euo pipefail

AZ_VERSION="${PULLSIM_AZ_VERSION:-2.91.0}"
JSONSCHEMA_VERSION="4.26.0"
JUNITPARSER_VERSION="5.0.3"
CHECK_JSONSCHEMA_VERSION="0.39.0"
CACHE="${PULLSIM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pullsim}"
mkdir -p "$CACHE"

need_apt=()
command -v dig >/dev/null 2>&1 || need_apt+=(dnsutils)
command -v skopeo >/dev/null 2>&1 || need_apt+=(skopeo)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
command -v docker-registry >/dev/null 2>&1 || need_apt+=(docker-registry)
[ -x /usr/sbin/ip ] || need_apt+=(iproute2)
[ -x /bin/busybox ] || need_apt+=(busybox-static)
if ((${#need_apt[@]})); then
  echo "install-test-deps: apt-get install ${need_apt[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# cargo-machete, pinned, from crates.io (`make lint` fails on a dependency nothing uses).
MACHETE_VERSION="${PULLSIM_MACHETE_VERSION:-0.9.2}"
if ! cargo machete --version 2>/dev/null | grep -q "$MACHETE_VERSION"; then
  echo "install-test-deps: cargo install cargo-machete $MACHETE_VERSION (once)" >&2
  cargo install --locked --quiet cargo-machete --version "$MACHETE_VERSION"
fi

# venv_install DIR CHECK PACKAGE...: a virtualenv in DIR holding PACKAGE...; CHECK (a
# command run in DIR/bin) proves it works. The marker is written last, so an interrupted
# install is redone, not trusted.
venv_install() {
  local dir="$1" check="$2"
  shift 2
  [ -f "$dir/.complete" ] && return 0
  echo "install-test-deps: installing $* into $dir (once; reused afterwards)" >&2
  rm -rf "$dir"
  python3 -m venv "$dir"
  "$dir/bin/pip" install -q --disable-pip-version-check "$@"
  (cd "$dir/bin" && eval "$check") >/dev/null
  touch "$dir/.complete"
}

venv="$CACHE/azure-cli-$AZ_VERSION"
venv_install "$venv" './az version' "azure-cli==$AZ_VERSION"
echo "$venv/bin/az" > "$CACHE/az-path"

tools="$CACHE/python-tools-jsonschema-$JSONSCHEMA_VERSION-junitparser-$JUNITPARSER_VERSION"
venv_install "$tools" "./python -c 'import jsonschema, junitparser'" \
  "jsonschema==$JSONSCHEMA_VERSION" "junitparser==$JUNITPARSER_VERSION"
echo "$tools/bin/python" > "$CACHE/python-tools-path"

lint="$CACHE/check-jsonschema-$CHECK_JSONSCHEMA_VERSION"
venv_install "$lint" './check-jsonschema --version' "check-jsonschema==$CHECK_JSONSCHEMA_VERSION"
echo "$lint/bin/check-jsonschema" > "$CACHE/check-jsonschema-path"

SDK_PINS=(azure-identity==1.27.0 azure-mgmt-web==11.0.1 azure-mgmt-network==33.1.0
  azure-mgmt-containerregistry==15.0.0 azure-mgmt-privatedns==2.0.0 azure-mgmt-resource==26.0.0
  azure-mgmt-resource-deployments==2.0.0)
sdk="$CACHE/python-sdk-web-11.0.1-network-33.1.0-resource-26.0.0-deployments-2.0.0"
venv_install "$sdk" "./python -c 'import azure.identity, azure.mgmt.web, azure.mgmt.network, azure.mgmt.containerregistry, azure.mgmt.privatedns, azure.mgmt.resource.resources, azure.mgmt.resource.deployments'" \
  "${SDK_PINS[@]}"
echo "$sdk/bin/python" > "$CACHE/python-sdk-path"

echo "install-test-deps: az at $venv/bin/az, dig at $(command -v dig), python tools at $tools" >&2
