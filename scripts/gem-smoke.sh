#!/usr/bin/env bash
# Installs the built gems (make gem) into empty GEM_HOMEs with `gem install --local` and runs
# the smoke spec from outside the source tree: the source gem (its extension built by cargo
# through extconf.rb) and the platform gem for this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
version=$(ruby -r ./ruby/lib/miq_automate/version -e 'print MiqAutomate::VERSION')
source_gem=pkg/miq_automate-$version.gem
platform_gem=$(ls pkg/miq_automate-"$version"-*.gem)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp ruby/smoke/smoke_spec.rb "$work/"
# rspec itself comes from the system's gems (Debian's ruby-rspec): keep them on the path.
system_gems=$(ruby -e 'print Gem.default_path.join(":")')

for gem_file in "$source_gem" "$platform_gem"; do
  home=$(mktemp -d -p "$work")
  echo "gem-smoke: installing $gem_file into an empty GEM_HOME"
  # The project's target dir: the crates.io dependencies are already compiled there.
  GEM_HOME=$home GEM_PATH=$home CARGO_TARGET_DIR=$root/target \
    gem install --local --no-document "$root/$gem_file"
  (cd "$work" && GEM_HOME=$home GEM_PATH=$home:$system_gems rspec smoke_spec.rb)
done
