#!/usr/bin/env bash
# `make demo-diagram`: the pictures of issue #23, each also as a screenshot (headless
# chromium, 1600×1200) in target/demo-diagram/, for people to look at:
#   - the example domain's VMProvision_VM with its rollback matrix, and a run of it failing
#     in RegisterDNS (the rollback that ran), as a diagram, a timeline, a table and the run
#     report page;
#   - with manageiq-content (MIQ_CONTENT_REPO, a git checkout), ManageIQ's own
#     VMProvision_VM run from examples/worlds/vm_provision.json: a passed run (two
#     CheckProvisioned retries) and a run failing in PostProvision after them.
# The binary is target/release/miq-automate (make build).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release/miq-automate
out=target/demo-diagram
mkdir -p "$out"
sm=/Infrastructure/VM/Provisioning/StateMachines

shot() { # FILE: a PNG beside it, as a 1600×1200 screen shows it
  local file=$1
  if command -v chromium >/dev/null; then
    chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1600,1200 \
      --screenshot="$PWD/${file%.*}.png" "file://$PWD/$file" >/dev/null 2>&1
    echo "  $file  (${file%.*}.png)"
  else
    echo "  $file  (no chromium: no screenshot)"
  fi
}

# A delivery's JSON and every picture of it. run exits 2 when the provision failed.
pictures() { # NAME MACHINE DATASTORE [run args…]
  local name=$1 machine=$2 datastore=$3
  shift 3
  "$bin" run "$machine" --datastore "$datastore" "$@" --output json >"$out/$name.json" || [ $? -eq 2 ]
  local path=${machine%%\?*}
  "$bin" diagram "$path" --datastore "$datastore" --trace "$out/$name.json" -o "$out/$name.svg"
  "$bin" diagram "$path" --datastore "$datastore" --trace "$out/$name.json" --output timeline -o "$out/$name-timeline.svg"
  "$bin" diagram "$path" --datastore "$datastore" --trace "$out/$name.json" --output table -o "$out/$name-table.md"
  "$bin" run "$machine" --datastore "$datastore" "$@" --output html -o "$out/$name-report.html" || [ $? -eq 2 ]
  shot "$out/$name.svg"
  shot "$out/$name-timeline.svg"
  shot "$out/$name-report.html"
  echo "  $out/$name-table.md"
}

echo "The example domain (examples/domains/RollbackDemo):"
demo=examples/domains/RollbackDemo
"$bin" diagram $sm/VMProvision_VM/template --datastore $demo \
  --matrix $demo/rollback_matrix.yaml --mode journal -o "$out/rollback-matrix.svg"
shot "$out/rollback-matrix.svg"
pictures rollback-run $sm/VMProvision_VM/template $demo \
  --model examples/run/vmware_provision.json \
  --stub $sm/Methods/CustomizeRequest=ok \
  --stub /Infrastructure/VM/Provisioning/Network/Methods/RegisterDNS=error

repo=${MIQ_CONTENT_REPO:-/work/.mirror/ManageIQ+manageiq-content/repo}
if git -C "$repo" rev-parse >/dev/null 2>&1; then
  echo "ManageIQ's VMProvision_VM (manageiq-content at $repo, examples/worlds/vm_provision.json):"
  content=$(mktemp -d)
  trap 'rm -rf "$content"' EXIT
  git -C "$repo" archive HEAD content/automate/ManageIQ | tar -x -C "$content"
  miq="$content/content/automate/ManageIQ"
  uri="$sm/VMProvision_VM/template?MiqProvision::miq_provision=800&MiqServer::miq_server=1&vmdb_object_type=miq_provision"
  pictures vmprovision-passed "$uri" "$miq" --world examples/worlds/vm_provision.json
  pictures vmprovision-failed "$uri" "$miq" --world examples/worlds/vm_provision.json \
    --stub $sm/Methods/PostProvision=error
else
  echo "ManageIQ's VMProvision_VM: skipped, manageiq-content not found at $repo (set MIQ_CONTENT_REPO to a checkout)"
fi
