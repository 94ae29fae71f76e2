#!/bin/bash
# Runs every fuzz target for a bounded time on seed corpora made from the test fixtures.
#   fuzz/run_all.sh BUILD_DIR [SECONDS_PER_TARGET=60] [WORK_DIR=BUILD_DIR/fuzz-work]
# Each target keeps its growing corpus in WORK_DIR/corpus/<target> and any crashing input in
# WORK_DIR/crashes/<target>; the last line of each log gives executions and speed.
set -u
build=${1:?usage: fuzz/run_all.sh BUILD_DIR [SECONDS] [WORK_DIR]}
seconds=${2:-60}
work=${3:-$build/fuzz-work}
here=$(cd "$(dirname "$0")" && pwd)
/usr/bin/python3 "$here/make_corpora.py" "$work/seeds" > /dev/null
status=0
for target in safetensors shard_index config tokenizer_json tokenizer_encode attention_file image; do
    mkdir -p "$work/corpus/$target" "$work/crashes/$target"
    QT_QPA_PLATFORM=offscreen ASAN_OPTIONS=detect_leaks=0 "$build/fuzz/fuzz_$target" \
        -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=262144 -timeout=10 \
        -artifact_prefix="$work/crashes/$target/" \
        "$work/corpus/$target" "$work/seeds/$target" > "$work/$target.log" 2>&1
    rc=$?
    runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$work/$target.log" | awk '{print $2}')
    [ -z "$runs" ] && runs=$(grep -Eo '#[0-9]+' "$work/$target.log" | tail -1 | tr -d '#')
    crashes=$(find "$work/crashes/$target" -type f | wc -l)
    printf '%-18s exit %d, %s executions, %d crashing inputs\n' "$target" "$rc" "${runs:-?}" "$crashes"
    [ "$rc" -ne 0 ] && status=1
done
exit $status
