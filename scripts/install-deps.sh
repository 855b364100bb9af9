#!/usr/bin/env bash
# Installs what the build and the tests need, only when it is missing, so that `make test`
# works on a fresh Debian machine and costs nothing on a prepared one.
set -euo pipefail

# `install-deps.sh --demo`: what `make demo` needs, cargo alone (the demo is the Rust CLI
# against its in-process mock): a fresh machine runs it without Ruby, chromium or linters.
if [ "${1:-}" = "--demo" ]; then
  command -v cargo >/dev/null || { echo "install-deps: cargo is missing (install Rust with rustup)" >&2; exit 1; }
  exit 0
fi

need=()
dpkg -s ruby-dev >/dev/null 2>&1 || need+=(ruby-dev)
dpkg -s libclang-dev >/dev/null 2>&1 || need+=(libclang-dev)
dpkg -s ruby-rspec >/dev/null 2>&1 || need+=(ruby-rspec)
# A real headless browser renders the HTML report and the diagrams in tests.
dpkg -s chromium >/dev/null 2>&1 || need+=(chromium)
dpkg -s fonts-dejavu-core >/dev/null 2>&1 || need+=(fonts-dejavu-core)
# ActiveSupport's core extensions: ManageIQ loads them before every inline method.
dpkg -s ruby-activesupport >/dev/null 2>&1 || need+=(ruby-activesupport)
dpkg -s pkg-config >/dev/null 2>&1 || need+=(pkg-config)
# The diagram tests render DOT with Graphviz and Mermaid with the npm package (tests/js).
command -v dot >/dev/null || need+=(graphviz)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)

if [ ${#need[@]} -gt 0 ]; then
  echo "install-deps: installing ${need[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

command -v cargo >/dev/null || { echo "install-deps: cargo is missing (install Rust with rustup)" >&2; exit 1; }

# Mermaid for the diagram tests, pinned by tests/js/package-lock.json; the tests load its
# single-file build (dist/mermaid.min.js) in headless chromium, offline.
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ ! -f "$root/tests/js/node_modules/mermaid/dist/mermaid.min.js" ]; then
  echo "install-deps: installing mermaid into tests/js/node_modules (npm ci)"
  npm ci --prefix "$root/tests/js" --no-audit --no-fund --loglevel=error
fi

# make lint's checkers, built once from crates.io into ~/.cargo/bin (kept between runs).
for tool in cargo-machete cargo-deny; do
  if ! command -v "$tool" >/dev/null; then
    echo "install-deps: installing $tool (once)"
    cargo install --locked --quiet "$tool"
  fi
done
