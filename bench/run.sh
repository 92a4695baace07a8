#!/usr/bin/env bash
# Runs curvecast's fit benchmark and the scipy recipe on the same data and prints a
# side-by-side table. From the workspace root: `bash bench/run.sh`.
# Needs python3 with numpy and scipy (`pip install numpy scipy`).
set -euo pipefail
cd "$(dirname "$0")/.."
rust=$(cargo run --quiet --example fit_bench 2>/dev/null)
py=$(python3 bench/scipy_fit.py)
printf '%-28s %12s %12s %8s\n' task curvecast_s scipy_s ratio
while IFS=, read -r name secs; do
  other=$(printf '%s\n' "$py" | awk -F, -v n="$name" '$1 == n {print $2}')
  if [ -n "$other" ]; then
    ratio=$(awk -v a="$other" -v b="$secs" 'BEGIN { printf "%.1fx", a / b }')
  else
    other="-"; ratio="-"
  fi
  printf '%-28s %12s %12s %8s\n' "$name" "$secs" "$other" "$ratio"
done <<< "$rust"
