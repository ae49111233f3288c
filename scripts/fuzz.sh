#!/usr/bin/env bash
# Builds and runs every libFuzzer target of tests/fuzz for SECONDS each, one after another (the
# targets are CPU-bound; running them in parallel only slows each down).
#   scripts/fuzz.sh <clang build dir configured with -DDOPPEL_FUZZ=ON> [SECONDS]
# Exits non-zero if any target found a crash, leak, sanitizer report or broken invariant; the
# reproducer is in <build dir>/artifacts/<target>/ — replay it with
# `<build dir>/<target>_fuzzer <file>`, fix, and add it to tests/fuzz/corpus/<target>/.
set -euo pipefail

build_dir=${1:?usage: scripts/fuzz.sh BUILD_DIR [SECONDS]}
seconds=${2:-60}
source_dir=$(cd "$(dirname "$0")/.." && pwd)

targets=()
for src in "$source_dir"/tests/fuzz/*_fuzz.cc; do
  name=$(basename "$src" _fuzz.cc)
  targets+=("$name")
done
cmake --build "$build_dir" --target "${targets[@]/%/_fuzzer}" -j2

failed=()
for name in "${targets[@]}"; do
  corpus="$build_dir/corpus/$name"
  artifacts="$build_dir/artifacts/$name"
  mkdir -p "$corpus" "$artifacts"
  echo "fuzz: $name for ${seconds}s"
  # The checked-in seeds come second: libFuzzer writes new inputs only to the first directory.
  if ! "$build_dir/${name}_fuzzer" "$corpus" "$source_dir/tests/fuzz/corpus/$name" \
      -max_len=4096 -timeout=5 -rss_limit_mb=2048 -max_total_time="$seconds" \
      -artifact_prefix="$artifacts/" -print_final_stats=1 2>"$build_dir/fuzz-$name.log"; then
    echo "fuzz: $name FAILED — see $build_dir/fuzz-$name.log and $artifacts/"
    failed+=("$name")
  fi
done

if ((${#failed[@]})); then
  echo "fuzz: findings in ${failed[*]}"
  exit 1
fi
echo "fuzz: ${#targets[@]} targets ran ${seconds}s each without findings"
