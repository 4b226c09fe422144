#!/usr/bin/env bash
# bench/run.sh (make bench): end-to-end throughput of `auditship run --once` over a
# generated audit log with bench/bench.yaml (policy + expression drops + secrets preset,
# file output), and in the same run the naive encoding/json pipeline (bench/naive), the
# object-store output (file://, zstd) and, when the node builds, the Elasticsearch output
# against the in-repo stand-in, with and without an outage. Prints MB/s (MB = 10^6 bytes),
# events/s, CPU-seconds per GB of input (user+sys), peak RSS and the ratio to the naive
# pipeline.
#
#   BENCH_SIZE=300MiB   input size (generated once into bench-out/, reused while the size matches)
#   BENCH_OUTPUTS="file objectstore elasticsearch elasticsearch-outage"   which agent runs
#                       to make; also available: file-large (the file output on a
#                       BENCH_LARGE_SIZE input), objectstore-s3 and objectstore-s3-outage
#                       (S3 to a MinIO from bench/s3node, without and with an outage)
#   BENCH_RSS=1         adds file-large, objectstore-s3 and objectstore-s3-outage: the rows
#                       that show whether peak RSS follows input size or output outages
#   BENCH_LARGE_SIZE=1GiB   file-large's input (generated once into bench-out/audit-SIZE.log)
#   BENCH_OUTAGE=15s    how long the outage rows' Elasticsearch node / MinIO stay down,
#                       from the first bulk request / first stored object
#   BENCH_OUTAGE_MODE=refuse   the Elasticsearch outage: refuse (node gone: connections
#                       dropped, then refused) or 429 (every bulk rejected, Retry-After)
#   BENCH_RUNS=3        runs of the file and object-store (file://) configurations; the
#                       median (by wall time) is reported, as the machine is shared
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
SIZE=${BENCH_SIZE:-300MiB}
OUTPUTS=${BENCH_OUTPUTS:-file objectstore elasticsearch elasticsearch-outage}
[ "${BENCH_RSS:-0}" = 1 ] && OUTPUTS="$OUTPUTS file-large objectstore-s3 objectstore-s3-outage"
LARGE=${BENCH_LARGE_SIZE:-1GiB}
OUTAGE=${BENCH_OUTAGE:-15s}
OUTAGE_MODE=${BENCH_OUTAGE_MODE:-refuse}
RUNS=${BENCH_RUNS:-3}
OUT=bench-out
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "bench: $TIME (GNU time) is needed for CPU and peak RSS" >&2; exit 1; }

mkdir -p "$OUT" bin && chmod 700 "$OUT"
$GO build -o bin/auditship ./cmd/auditship
$GO build -o bin/auditship-naive ./bench/naive
if ! $GO build -o bin/auditship-esnode ./bench/esnode 2>/dev/null; then
	OUTPUTS=$(echo " $OUTPUTS " | sed 's/ elasticsearch-outage / /; s/ elasticsearch / /')
fi
case " $OUTPUTS " in *" objectstore-s3"*) $GO build -o bin/auditship-s3node ./bench/s3node ;; esac

if [ ! -s "$OUT/audit.log" ] || [ "$(cat "$OUT/audit.size" 2>/dev/null)" != "$SIZE" ]; then
	$GO run ./cmd/auditship-gen -bytes "$SIZE" -seed 1 -o "$OUT/audit.log"
	echo "$SIZE" > "$OUT/audit.size"
fi
# A larger input for file-large, keyed by its size in the name; written under a temporary
# name first, so an interrupted generation is not taken for a finished one.
case " $OUTPUTS " in *" file-large "*)
	if [ ! -s "$OUT/audit-$LARGE.log" ]; then
		$GO run ./cmd/auditship-gen -bytes "$LARGE" -seed 1 -o "$OUT/audit-$LARGE.log.tmp"
		mv "$OUT/audit-$LARGE.log.tmp" "$OUT/audit-$LARGE.log"
	fi
	;;
esac

# use_input FILE: the input the next runs read (hard-linked into their directory as
# audit.log) and report divides by.
use_input() {
	INPUT=$1
	BYTES=$(stat -c %s "$INPUT")
	EVENTS=$(wc -l < "$INPUT")
}
use_input "$OUT/audit.log"
echo "input: $OUT/audit.log, $BYTES bytes, $EVENTS events; $(nproc) cores; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

# run NAME CMD...: runs CMD in bench-out/NAME (fresh, holding a hard link to the input)
# under GNU time, RUNS times (once for naive and the runs against a node), and leaves the
# median run's "wall user sys maxrss_kb" in bench-out/NAME/time.
run() {
	local name=$1 dir=$OUT/$1 n=$RUNS
	shift
	# The naive pipeline is slow and steady; a second run against a node would only meet
	# the documents or objects of the first (and no outage), so these run once.
	case $name in naive | agent-elasticsearch* | agent-objectstore-s3*) n=1 ;; esac
	rm -rf "$dir" && mkdir -p "$dir" && chmod 700 "$dir"
	ln "$INPUT" "$dir/audit.log"
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
		printf "%-27s %8.1f MB/s %10.0f ev/s %6.2f CPU-s/GB %7.2f us-CPU/ev %6.0f MB RSS %6s vs naive  (%.2fs wall, %.2fs user, %.2fs sys)\n",
			n, b / 1e6 / w, e / w, (u + s) / (b / 1e9), (u + s) * 1e6 / e, r / 1024, ratio, w, u, s
	}'
}

# KEPT: how many events of bench-out/audit.log the chain keeps, which a node must hold
# after a run: the file run's line count when it ran, else `auditship test`'s count.
KEPT=
set_kept() {
	[ -n "$KEPT" ] && return
	KEPT=$(cd "$OUT" && ../bin/auditship test -c ../bench/bench.yaml --input audit.log 2>&1 >/dev/null |
		sed -n 's/.*kept: \([0-9]*\).*/\1/p')
}

# check_count ROW WHAT GOT: prints what the node or bucket holds against what the chain
# kept, and fails the bench when events are missing (or, for Elasticsearch, which
# de-duplicates by _id, when there are more).
check_count() {
	local row=$1 what=$2 got=$3 dup=
	set_kept
	if [ -z "$got" ] || [ "$got" -lt "$KEPT" ] || { [ "$what" = "documents in the node" ] && [ "$got" -ne "$KEPT" ]; }; then
		echo "bench: $row: ${got:-no count of} $what, but the chain keeps $KEPT events" >&2
		exit 1
	fi
	[ "$got" -gt "$KEPT" ] && dup=" ($((got - KEPT)) duplicates)"
	echo "    $row: $got $what$dup; the chain keeps $KEPT events"
}

# start_node ROW CMD...: starts a stand-in server (esnode, s3node) that prints its URL on
# its first line and serves until its standard input, held open here as fd NODE_IN, is
# closed (by stop_node, or by this script's exit). Sets NODE_PID and NODE_URL, which is
# empty when the server exited without one; its log is bench-out/ROW.node.log.
start_node() {
	local row=$1 fifo=$OUT/$1.stdin urlf=$OUT/$1.url
	shift
	rm -f "$fifo" && mkfifo -m 600 "$fifo" && : > "$urlf"
	"$@" < "$fifo" > "$urlf" 2> "$OUT/$row.node.log" &
	NODE_PID=$!
	exec {NODE_IN}> "$fifo"
	rm -f "$fifo"
	NODE_URL=
	while [ -z "$NODE_URL" ] && kill -0 "$NODE_PID" 2> /dev/null; do
		sleep 0.1
		NODE_URL=$(head -1 "$urlf")
	done
}

stop_node() {
	exec {NODE_IN}>&-
	wait "$NODE_PID" || true
}

# elasticsearch ROW [ESNODE FLAGS...]: the Elasticsearch output against a fresh stand-in
# node, then the node's document count against the kept count.
elasticsearch() {
	local row=$1 log=$OUT/$1.node.log
	shift
	start_node "$row" bin/auditship-esnode "$@"
	[ -n "$NODE_URL" ] || { echo "bench: $row: the node did not start: $(cat "$log")" >&2; exit 1; }
	sed "s|ES_URL|$NODE_URL|" bench/bench-elasticsearch.yaml > "$OUT/bench-elasticsearch.yaml"
	run "$row" ../../bin/auditship run --once -c ../bench-elasticsearch.yaml
	stop_node
	report "$row"
	{ grep -h 'outage\|back after' "$log" || true; } | sed 's/^/    /'
	check_count "$row" "documents in the node" "$(sed -n 's/^esnode: \([0-9]*\) documents$/\1/p' "$log")"
}

# objectstore_s3 ROW [S3NODE FLAGS...]: the object-store output to a fresh MinIO (skipped,
# saying why, when the pinned MinIO is not built), then the events in the bucket against
# the kept count. Objects are content-addressed, so a retry overwrites its own attempt;
# duplicates would come only from a retry that regrouped events.
objectstore_s3() {
	local row=$1 log=$OUT/$1.node.log
	shift
	start_node "$row" bin/auditship-s3node -dir "$OUT" "$@"
	if [ -z "$NODE_URL" ]; then
		exec {NODE_IN}>&-
		local rc=0
		wait "$NODE_PID" || rc=$?
		# s3node exits with 2 when MinIO is not built: a missing optional tool, not a failure.
		[ "$rc" = 2 ] || { echo "bench: $row: MinIO did not start: $(cat "$log")" >&2; exit 1; }
		echo "$row: skipped: $(tail -1 "$log")"
		return
	fi
	sed "s|S3_ENDPOINT|$NODE_URL|" bench/bench-objectstore-s3.yaml > "$OUT/bench-objectstore-s3.yaml"
	run "$row" env AWS_ACCESS_KEY_ID=auditship-bench AWS_SECRET_ACCESS_KEY=auditship-bench-secret \
		AWS_EC2_METADATA_DISABLED=true ../../bin/auditship run --once -c ../bench-objectstore-s3.yaml
	stop_node
	report "$row"
	{ grep -h 'outage\|back after' "$log" || true; } | sed 's/^/    /'
	check_count "$row" "events in the bucket" "$(sed -n 's/^s3node: [0-9]* objects, \([0-9]*\) events$/\1/p' "$log")"
}

run naive ../../bin/auditship-naive -in audit.log -out out.ndjson
read -r NAIVE_WALL _ < "$OUT/naive/time"
report naive

for o in $OUTPUTS; do
	case $o in
	file)
		cp bench/bench.yaml "$OUT/bench.yaml"
		run agent-file ../../bin/auditship run --once -c ../bench.yaml
		KEPT=$(wc -l < "$OUT/agent-file/out.ndjson")
		report agent-file
		;;
	file-large)
		# The naive ratio is for the standard input only.
		cp bench/bench.yaml "$OUT/bench.yaml"
		use_input "$OUT/audit-$LARGE.log"
		run "agent-file-$LARGE" ../../bin/auditship run --once -c ../bench.yaml
		NAIVE_WALL=0 report "agent-file-$LARGE"
		echo "    agent-file-$LARGE: input $INPUT, $BYTES bytes, $EVENTS events; $(wc -l < "$OUT/agent-file-$LARGE/out.ndjson") kept"
		use_input "$OUT/audit.log"
		;;
	objectstore)
		cp bench/bench-objectstore.yaml "$OUT/bench-objectstore.yaml"
		run agent-objectstore ../../bin/auditship run --once -c ../bench-objectstore.yaml
		report agent-objectstore
		;;
	objectstore-s3)
		objectstore_s3 agent-objectstore-s3
		;;
	objectstore-s3-outage)
		objectstore_s3 agent-objectstore-s3-outage -outage "$OUTAGE"
		;;
	elasticsearch)
		elasticsearch agent-elasticsearch
		;;
	elasticsearch-outage)
		elasticsearch agent-elasticsearch-outage -outage "$OUTAGE" -outage-mode "$OUTAGE_MODE"
		;;
	*)
		echo "bench: unknown output $o in BENCH_OUTPUTS" >&2
		exit 1
		;;
	esac
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
