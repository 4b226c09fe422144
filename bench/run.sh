#!/usr/bin/env bash
# bench/run.sh (make bench): end-to-end throughput of `auditship run --once` over a
# generated audit log with bench/bench.yaml (policy + expression drops + secrets preset,
# file output), and in the same run the naive encoding/json pipeline (bench/naive), the
# object-store output (file://, zstd) and, when the node builds, the Elasticsearch output
# against the in-repo stand-in. Prints MB/s (MB = 10^6 bytes), events/s, CPU-seconds per
# GB of input (user+sys), peak RSS and the ratio to the naive pipeline.
#
#   BENCH_SIZE=300MiB   input size (generated once into bench-out/, reused while the size matches)
#   BENCH_OUTPUTS="file objectstore elasticsearch"   which agent runs to make
#   BENCH_RUNS=3        runs of the file and object-store configurations; the median (by
#                       wall time) is reported, as the machine is shared
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
SIZE=${BENCH_SIZE:-300MiB}
OUTPUTS=${BENCH_OUTPUTS:-file objectstore elasticsearch}
RUNS=${BENCH_RUNS:-3}
OUT=bench-out
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "bench: $TIME (GNU time) is needed for CPU and peak RSS" >&2; exit 1; }

mkdir -p "$OUT" bin && chmod 700 "$OUT"
$GO build -o bin/auditship ./cmd/auditship
$GO build -o bin/auditship-naive ./bench/naive
$GO build -o bin/auditship-esnode ./bench/esnode 2>/dev/null || OUTPUTS=${OUTPUTS/elasticsearch/}

if [ ! -s "$OUT/audit.log" ] || [ "$(cat "$OUT/audit.size" 2>/dev/null)" != "$SIZE" ]; then
	$GO run ./cmd/auditship-gen -bytes "$SIZE" -seed 1 -o "$OUT/audit.log"
	echo "$SIZE" > "$OUT/audit.size"
fi
BYTES=$(stat -c %s "$OUT/audit.log")
EVENTS=$(wc -l < "$OUT/audit.log")
echo "input: $OUT/audit.log, $BYTES bytes, $EVENTS events; $(nproc) cores; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

# run NAME CMD...: runs CMD in bench-out/NAME (fresh, holding a hard link to the input)
# under GNU time, RUNS times (once for naive), and leaves the median run's
# "wall user sys maxrss_kb" in bench-out/NAME/time.
run() {
	local name=$1 dir=$OUT/$1 n=$RUNS
	shift
	# The naive pipeline is slow and steady; a second Elasticsearch run would only meet
	# conflicts (the documents exist), so both run once.
	case $name in naive | agent-elasticsearch) n=1 ;; esac
	rm -rf "$dir" && mkdir -p "$dir" && chmod 700 "$dir"
	ln "$OUT/audit.log" "$dir/audit.log"
	: > "$dir/times"
	for _ in $(seq "$n"); do
		rm -rf "$dir/state" "$dir/out.ndjson" "$dir/archive"
		if ! (cd "$dir" && "$TIME" -f "%e %U %S %M" -o time "$@" > stdout 2> stderr); then
			echo "bench: $name failed:" >&2
			tail -20 "$dir/stderr" >&2
			exit 1
		fi
		cat "$dir/time" >> "$dir/times"
	done
	sort -n "$dir/times" | sed -n "$(( (n + 1) / 2 ))p" > "$dir/time"
}

report() {
	local name=$1
	read -r wall user sys rss < "$OUT/$name/time"
	awk -v n="$name" -v b="$BYTES" -v e="$EVENTS" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v nw="${NAIVE_WALL:-0}" 'BEGIN {
		if (w <= 0) w = 0.01
		ratio = (nw > 0) ? sprintf("%.1fx", nw / w) : "-"
		printf "%-22s %8.1f MB/s %10.0f ev/s %6.2f CPU-s/GB %7.2f us-CPU/ev %6.0f MB RSS %6s vs naive  (%.2fs wall, %.2fs user, %.2fs sys)\n",
			n, b / 1e6 / w, e / w, (u + s) / (b / 1e9), (u + s) * 1e6 / e, r / 1024, ratio, w, u, s
	}'
}

run naive ../../bin/auditship-naive -in audit.log -out out.ndjson
read -r NAIVE_WALL _ < "$OUT/naive/time"
report naive

for o in $OUTPUTS; do
	case $o in
	file)
		cp bench/bench.yaml "$OUT/bench.yaml"
		run agent-file ../../bin/auditship run --once -c ../bench.yaml
		report agent-file
		;;
	objectstore)
		cp bench/bench-objectstore.yaml "$OUT/bench-objectstore.yaml"
		run agent-objectstore ../../bin/auditship run --once -c ../bench-objectstore.yaml
		report agent-objectstore
		;;
	elasticsearch)
		coproc ES { exec bin/auditship-esnode 2>"$OUT/esnode.log"; }
		read -r url <&"${ES[0]}"
		sed "s|ES_URL|$url|" bench/bench-elasticsearch.yaml > "$OUT/bench-elasticsearch.yaml"
		run agent-elasticsearch ../../bin/auditship run --once -c ../bench-elasticsearch.yaml
		exec {ES[1]}>&-
		wait "$ES_PID" || true
		report agent-elasticsearch
		;;
	esac
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
