#!/bin/sh
# gzip throughput on SIZE MiB of base64 text at compression LEVEL.
# Prints a progress line in benchyard's line format, the throughput on stdout, and writes
# the compression ratio to /out/result.json.
set -eu
size=$1
level=$2
mkdir -p /out
head -c "${size}M" /dev/urandom | base64 | head -c "${size}M" > /tmp/in
echo "@benchyard metric=input_mib value=$size unit=MiB"
start=$(date +%s%N)
gzip -"$level" -c /tmp/in > /tmp/in.gz
end=$(date +%s%N)
ns=$((end - start))
compressed=$(stat -c %s /tmp/in.gz)
awk -v s="$size" -v ns="$ns" 'BEGIN { printf "throughput: %.2f MiB/s\n", s / (ns / 1e9) }'
awk -v c="$compressed" -v s="$size" -v ns="$ns" \
  'BEGIN { printf "{\"ratio\": %.4f, \"elapsed_ms\": %d}\n", c / (s * 1048576), ns / 1e6 }' > /out/result.json
