#!/usr/bin/env bash
# bench/run.sh (make bench): end-to-end throughput of `auditship run --once` over a
# generated audit log with bench/bench.yaml (policy + expression drops + secrets preset,
# file output) and with no filters (bench/bench-nofilter.yaml), and in the same run the
# naive encoding/json pipeline (bench/naive), the peers that are installed (jq with the
# same drops, rsyslog imfile + mmjsonparse + omfile, Fluent Bit tail + json parser + file
# output), the object-store output (file://, zstd) and, when the node builds, the
# Elasticsearch output against the in-repo stand-in, with and without an outage. Prints,
# per input, the share of lines and bytes the decoder's fast path declines
# (bench/slowpath), then per row MB/s (MB = 10^6 bytes), events/s, CPU-seconds per GB of
# input (user+sys), peak RSS and the ratios to the naive pipeline and to rsyslog (wall
# time and CPU). The rows of a round (naive, the peers, the file, no-filter and
# object-store runs) run interleaved, BENCH_RUNS rounds, so that the machine's load falls
# on all of them alike.
#
# Inputs: the generator's stream (BENCH_SIZE), and, when testdata/kube-apiserver holds
# the recorded output of a real kube-apiserver, that output (its gzipped backups, then
# audit.log) repeated to at least BENCH_REAL_SIZE (100MiB), as bench-out/real.log, and the
# control-plane recording (testdata/kube-apiserver/controlplane) likewise as real-cp.log.
#
#   BENCH_SIZE=300MiB   input size (generated once into bench-out/, reused while the size matches)
#   BENCH_OUTPUTS="file objectstore elasticsearch elasticsearch-outage splunkhec kafka"
#                       which agent runs to make (splunkhec and kafka: against
#                       bench/hecnode and bench/kafkanode, reported with their CPU per
#                       event as a ratio to the file output's); also available: file-large (the file output on a
#                       BENCH_LARGE_SIZE input), objectstore-s3 and objectstore-s3-outage
#                       (S3 to a MinIO from bench/s3node, without and with an outage)
#   BENCH_RSS=1         adds file-large, objectstore-s3 and objectstore-s3-outage: the rows
#                       that show whether peak RSS follows input size or output outages
#   BENCH_LARGE_SIZE=1GiB   file-large's input (generated once into bench-out/audit-SIZE.log)
#   BENCH_OUTAGE=15s    how long the outage rows' Elasticsearch node / MinIO stay down,
#                       from the first bulk request / first stored object
#   BENCH_OUTAGE_MODE=refuse   the Elasticsearch outage: refuse (node gone: connections
#                       dropped, then refused) or 429 (every bulk rejected, Retry-After)
#   BENCH_RUNS=3        rounds of the interleaved rows; the median (by wall time) of each
#                       row is reported, as the machine is shared
#   BENCH_PEERS="jq rsyslog fluent-bit"   the peers to run ("" for none), each skipped when
#                       its command is not installed; `.ci/run` installs none of them
#   BENCH_REAL_SIZE=100MiB  the real input's size (the recorded corpus repeated)
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
SIZE=${BENCH_SIZE:-300MiB}
OUTPUTS=${BENCH_OUTPUTS:-file objectstore elasticsearch elasticsearch-outage splunkhec kafka}
[ "${BENCH_RSS:-0}" = 1 ] && OUTPUTS="$OUTPUTS file-large objectstore-s3 objectstore-s3-outage"
LARGE=${BENCH_LARGE_SIZE:-1GiB}
OUTAGE=${BENCH_OUTAGE:-15s}
OUTAGE_MODE=${BENCH_OUTAGE_MODE:-refuse}
RUNS=${BENCH_RUNS:-3}
PEERS=${BENCH_PEERS-jq rsyslog fluent-bit}
REAL_SIZE=${BENCH_REAL_SIZE:-100MiB}
REAL_DIR=testdata/kube-apiserver
OUT=bench-out
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "bench: $TIME (GNU time) is needed for CPU and peak RSS" >&2; exit 1; }

mkdir -p "$OUT" bin && chmod 700 "$OUT"
$GO build -o bin/auditship ./cmd/auditship
$GO build -o bin/auditship-naive ./bench/naive
$GO build -o bin/auditship-slowpath ./bench/slowpath
if ! $GO build -o bin/auditship-esnode ./bench/esnode 2>/dev/null; then
	OUTPUTS=$(echo " $OUTPUTS " | sed 's/ elasticsearch-outage / /; s/ elasticsearch / /')
fi
case " $OUTPUTS " in *" splunkhec "*) $GO build -o bin/auditship-hecnode ./bench/hecnode ;; esac
case " $OUTPUTS " in *" kafka "*) $GO build -o bin/auditship-kafkanode ./bench/kafkanode ;; esac
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

# use_input FILE PREFIX: the input the next runs read (hard-linked into their directory
# as audit.log) and report divides by; its rows are named PREFIX + row. Prints the input
# and the share of it the decoder's fast path declines.
use_input() {
	INPUT=$1
	P=$2
	BYTES=$(stat -c %s "$INPUT")
	EVENTS=$(wc -l < "$INPUT")
	echo "input: $INPUT, $BYTES bytes, $EVENTS events; $(nproc) cores; load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
	bin/auditship-slowpath "$INPUT" | sed 's/^/    /'
}

# prepare NAME: a fresh bench-out/NAME holding a hard link to the input, no times yet.
prepare() {
	local dir=$OUT/$1
	rm -rf "$dir" && mkdir -p "$dir" && chmod 700 "$dir"
	ln "$INPUT" "$dir/audit.log"
	: > "$dir/times"
}

# settle: write back, untimed, what earlier rows left in the page cache. Peers that do
# not fsync (naive, jq, rsyslog) leave ~300 MB of dirty pages that the kernel writes back
# during the next row: an agent row right after one paid for that row's writeback in its
# own fsyncs (agent-nofilter measured 248 MB/s after rsyslog, 430-475 MB/s after a sync).
settle() { sync; }

# freeze_output DIR: the row's output counted into DIR/written (events: lines of
# out.ndjson, or of jq's stdout), then removed with the objects an object-store row wrote.
# An output left in place holds ~300 MB of page cache that the next row's writes must
# reclaim first: kept, it cost whichever row came next up to 0.5 s of system time.
freeze_output() {
	local dir=$1 f=$1/out.ndjson
	case ${dir##*/} in *jq) f=$dir/stdout ;; esac
	rm -f "$dir/written"
	if [ -f "$f" ]; then
		wc -l < "$f" > "$dir/written"
		rm -f "$f"
	fi
	rm -rf "$dir/archive"
}

# once NAME CMD...: one run of CMD in bench-out/NAME under GNU time; its "wall user sys
# maxrss_kb" is appended to bench-out/NAME/times.
once() {
	local name=$1 dir=$OUT/$1
	shift
	rm -rf "$dir/state" "$dir/out.ndjson" "$dir/archive"
	settle
	if ! (cd "$dir" && "$TIME" -f "%e %U %S %M" -o time "$@" > stdout 2> stderr); then
		echo "bench: $name failed:" >&2
		tail -20 "$dir/stderr" >&2
		exit 1
	fi
	cat "$dir/time" >> "$dir/times"
	freeze_output "$dir"
}

# once_daemon NAME CMD...: once, for a peer that tails its input and never exits (rsyslog,
# Fluent Bit): it is stopped (SIGTERM to GNU time's child, by its parent's id) when its
# output out.ndjson has not grown for 3 s, and its wall time is taken up to the output's
# last write, not to the stop. Its CPU includes those idle seconds, which cost next to
# nothing.
once_daemon() {
	local name=$1 dir=$OUT/$1
	shift
	rm -rf "$dir/state" "$dir/out.ndjson" && mkdir -p "$dir/state"
	settle
	local start tpid size=-1 same=0 waited=0 now end
	start=$(date +%s.%N)
	(cd "$dir" && exec "$TIME" -f "%e %U %S %M" -o time "$@" > stdout 2> stderr) &
	tpid=$!
	while [ "$same" -lt 6 ]; do
		sleep 0.5
		waited=$((waited + 1))
		if ! kill -0 "$tpid" 2> /dev/null || [ "$waited" -gt 2400 ]; then
			echo "bench: $name exited or wrote nothing in 20 minutes:" >&2
			tail -20 "$dir/stderr" >&2
			exit 1
		fi
		now=$(stat -c %s "$dir/out.ndjson" 2> /dev/null || echo 0)
		if [ "$now" -gt 0 ] && [ "$now" = "$size" ]; then same=$((same + 1)); else same=0; fi
		size=$now
	done
	end=$(stat -c %.9Y "$dir/out.ndjson")
	pkill -TERM -P "$tpid"
	wait "$tpid" || true
	# GNU time says first that its command was killed: the figures are the last line.
	read -r _ user sys rss < <(tail -1 "$dir/time")
	echo "$(echo "$end - $start" | bc) $user $sys $rss" >> "$dir/times"
	freeze_output "$dir"
}

# single NAME CMD...: a row that runs once, outside the rounds (the runs against a node:
# a second one would only meet the documents or objects of the first, and no outage).
single() {
	prepare "$1"
	once "$@"
	median "$1"
}

# median NAME: bench-out/NAME/time is the median of its runs by wall time.
median() {
	local t=$OUT/$1/times
	sort -n "$t" | sed -n "$((($(wc -l < "$t") + 1) / 2))p" > "$OUT/$1/time"
}

# report NAME: one row; the ratios are to NAIVE_WALL/NAIVE_CPU and RSYSLOG_WALL/RSYSLOG_CPU
# (the median naive and rsyslog runs on the same input, when they ran).
report() {
	local name=$1
	read -r wall user sys rss < "$OUT/$name/time"
	awk -v n="$name" -v b="$BYTES" -v e="$EVENTS" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" \
		-v nw="${NAIVE_WALL:-0}" -v nc="${NAIVE_CPU:-0}" -v rw="${RSYSLOG_WALL:-0}" -v rc="${RSYSLOG_CPU:-0}" 'BEGIN {
		if (w <= 0) w = 0.01
		c = u + s
		if (c <= 0) c = 0.01
		vn = (nw > 0) ? sprintf("%5.1fx %5.1fx", nw / w, nc / c) : "    -      -"
		vr = (rw > 0) ? sprintf("%5.1fx %5.1fx", rw / w, rc / c) : "    -      -"
		printf "%-27s %7.1f MB/s %8.0f ev/s %6.2f CPU-s/GB %6.2f us-CPU/ev %5.0f MB RSS  %s vs naive  %s vs rsyslog  (%.2fs wall, %.2fs user, %.2fs sys)\n",
			n, b / 1e6 / w, e / w, c / (b / 1e9), c * 1e6 / e, r / 1024, vn, vr, w, u, s
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
	single "$row" ../../bin/auditship run --once -c ../bench-elasticsearch.yaml
	stop_node
	report "$row"
	{ grep -h 'outage\|back after' "$log" || true; } | sed 's/^/    /'
	check_count "$row" "documents in the node" "$(sed -n 's/^esnode: \([0-9]*\) documents$/\1/p' "$log")"
}

# siem ROW NODE CONFIG PLACEHOLDER WHAT PATTERN: the SIEM output of CONFIG (bench/CONFIG)
# against a fresh stand-in NODE (bin/auditship-NODE), whose address replaces PLACEHOLDER
# in the configuration; then the count the node logs (its log line matching the sed
# PATTERN, whose \1 is the count) against the kept count, and the row's CPU per event as
# a ratio to agent-file's, which the rounds above measured on the same input. The node
# runs in its own process, so its CPU is not counted in the row.
siem() {
	local row=$1 node=$2 cfg=$3 ph=$4 what=$5 pat=$6 log=$OUT/$1.node.log
	start_node "$row" "bin/auditship-$node"
	[ -n "$NODE_URL" ] || { echo "bench: $row: $node did not start: $(cat "$log")" >&2; exit 1; }
	sed "s|$ph|$NODE_URL|" "bench/$cfg" > "$OUT/$cfg"
	single "$row" ../../bin/auditship run --once -c "../$cfg"
	stop_node
	report "$row"
	check_count "$row" "$what" "$(sed -n "$pat" "$log")"
	if [ -f "$OUT/agent-file/time" ]; then
		local fu fs u s
		read -r _ fu fs _ < "$OUT/agent-file/time"
		read -r _ u s _ < "$OUT/$row/time"
		awk -v r="$row" -v c="$(echo "$u + $s" | bc)" -v f="$(echo "$fu + $fs" | bc)" 'BEGIN {
			printf "    %s: CPU per event %.2fx the file output'"'"'s (%.2fs vs %.2fs CPU; target: within 1.15x)\n", r, c / f, c, f
		}'
	fi
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
	single "$row" env AWS_ACCESS_KEY_ID=auditship-bench AWS_SECRET_ACCESS_KEY=auditship-bench-secret \
		AWS_EC2_METADATA_DISABLED=true ../../bin/auditship run --once -c ../bench-objectstore-s3.yaml
	stop_node
	report "$row"
	{ grep -h 'outage\|back after' "$log" || true; } | sed 's/^/    /'
	check_count "$row" "events in the bucket" "$(sed -n 's/^s3node: [0-9]* objects, \([0-9]*\) events$/\1/p' "$log")"
}

# The rows of a round, in the order they run: the naive pipeline, the installed peers,
# the agent without filters and with the bench chain (file and object-store outputs).
ROWS="naive"
for p in $PEERS; do
	cmd=$p
	[ "$p" = rsyslog ] && cmd=rsyslogd
	if command -v "$cmd" > /dev/null; then
		ROWS="$ROWS $p"
	else
		echo "$p: skipped: $cmd is not installed"
	fi
done
ROWS="$ROWS agent-nofilter"
case " $OUTPUTS " in *" file "*) ROWS="$ROWS agent-file" ;; esac
case " $OUTPUTS " in *" objectstore "*) ROWS="$ROWS agent-objectstore" ;; esac

# row NAME: one run of row NAME (PREFIX + a row of ROWS) on the current input.
row() {
	local name=$1 dir=$OUT/$1
	case ${name#"$P"} in
	naive) once "$name" ../../bin/auditship-naive -in audit.log -out out.ndjson ;;
	# The bench chain's three drops; jq writes what it keeps to stdout.
	jq) once "$name" jq -c -f ../jq-drops.jq audit.log ;;
	# imfile + mmjsonparse + omfile: each line parsed into a JSON tree and written from it.
	rsyslog) once_daemon "$name" rsyslogd -n -f rsyslog.conf -i "$PWD/$dir/rsyslog.pid" ;;
	# tail + the json parser + the file output: each line parsed and written from the record.
	fluent-bit) once_daemon "$name" fluent-bit -q -c fluent-bit.conf ;;
	agent-nofilter) once "$name" ../../bin/auditship run --once -c ../bench-nofilter.yaml ;;
	agent-file) once "$name" ../../bin/auditship run --once -c ../bench.yaml ;;
	agent-objectstore) once "$name" ../../bin/auditship run --once -c ../bench-objectstore.yaml ;;
	esac
}

# peer_config NAME: the configuration files rsyslog and Fluent Bit read (absolute paths
# into bench-out/NAME).
peer_config() {
	local dir=$PWD/$OUT/$1
	case ${1#"$P"} in
	rsyslog)
		cat > "$dir/rsyslog.conf" <<-CONF
			global(workDirectory="$dir/state" maxMessageSize="64m")
			module(load="imfile" mode="inotify")
			module(load="mmjsonparse")
			template(name="alljson" type="list") { property(name="\$!all-json") constant(value="\n") }
			ruleset(name="audit") {
			  action(type="mmjsonparse" cookie="")
			  if \$parsesuccess == "OK" then { action(type="omfile" file="$dir/out.ndjson" template="alljson") }
			}
			input(type="imfile" file="$dir/audit.log" tag="audit" ruleset="audit" freshStartTail="off" addMetadata="off")
		CONF
		;;
	fluent-bit)
		printf '[PARSER]\n    Name   json\n    Format json\n' > "$dir/parsers.conf"
		cat > "$dir/fluent-bit.conf" <<-CONF
			[SERVICE]
			    Flush        1
			    Log_Level    warn
			    Parsers_File $dir/parsers.conf
			[INPUT]
			    Name              tail
			    Path              $dir/audit.log
			    Read_from_Head    On
			    Buffer_Chunk_Size 1M
			    Buffer_Max_Size   64M
			    Parser            json
			[OUTPUT]
			    Name   file
			    Match  *
			    Path   $dir
			    File   out.ndjson
			    Format plain
		CONF
		;;
	esac
}

# rounds: BENCH_RUNS rounds of every row of ROWS on the current input, interleaved, then
# the median of each row, reported with its ratios to naive and rsyslog.
rounds() {
	local r n
	cp bench/bench.yaml bench/bench-nofilter.yaml bench/bench-objectstore.yaml bench/jq-drops.jq "$OUT/"
	for r in $ROWS; do
		prepare "$P$r"
		peer_config "$P$r"
	done
	for n in $(seq "$RUNS"); do
		for r in $ROWS; do
			row "$P$r"
		done
	done
	NAIVE_WALL= NAIVE_CPU= RSYSLOG_WALL= RSYSLOG_CPU=
	for r in $ROWS; do
		median "$P$r"
	done
	read -r NAIVE_WALL u s _ < "$OUT/${P}naive/time"
	NAIVE_CPU=$(echo "$u + $s" | bc)
	if [[ " $ROWS " == *" rsyslog "* ]]; then # not a time file an earlier run left
		read -r RSYSLOG_WALL u s _ < "$OUT/${P}rsyslog/time"
		RSYSLOG_CPU=$(echo "$u + $s" | bc)
	fi
	for r in $ROWS; do
		report "$P$r"
		local written=$OUT/$P$r/written
		if [ -f "$written" ]; then echo "    $P$r: $(cat "$written") events written"; fi
	done
}

use_input "$OUT/audit.log" ""
rounds
[ -f "$OUT/agent-file/written" ] && KEPT=$(cat "$OUT/agent-file/written")

for o in $OUTPUTS; do
	case $o in
	file | objectstore) ;; # in the rounds above
	file-large)
		# The ratios are for the standard input only.
		use_input "$OUT/audit-$LARGE.log" ""
		single "agent-file-$LARGE" ../../bin/auditship run --once -c ../bench.yaml
		NAIVE_WALL=0 RSYSLOG_WALL=0 report "agent-file-$LARGE"
		echo "    agent-file-$LARGE: $(cat "$OUT/agent-file-$LARGE/written") kept"
		use_input "$OUT/audit.log" "" > /dev/null
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
	splunkhec)
		siem agent-splunkhec hecnode bench-splunkhec.yaml HEC_URL "events in the collector" \
			's/^hecnode: \([0-9]*\) events$/\1/p'
		;;
	kafka)
		siem agent-kafka kafkanode bench-kafka.yaml KAFKA_BROKER "records in the topic" \
			's/^kafkanode: \([0-9]*\) records$/\1/p'
		;;
	*)
		echo "bench: unknown output $o in BENCH_OUTPUTS" >&2
		exit 1
		;;
	esac
done

# repeat_to NAME FILE...: bench-out/NAME, the files (gzipped or not) concatenated and
# repeated until it holds at least BENCH_REAL_SIZE bytes; made again when the size changes.
repeat_to() {
	local name=$1 want f
	shift
	if [ -s "$OUT/$name" ] && [ "$(cat "$OUT/$name.size" 2>/dev/null)" = "$REAL_SIZE" ]; then
		return
	fi
	case $REAL_SIZE in
	*iB) want=$(numfmt --from=iec-i "${REAL_SIZE%B}") ;; # 100MiB
	*) want=$(numfmt --from=iec "${REAL_SIZE%B}") ;;      # 100M, 100MB
	esac
	: > "$OUT/$name.tmp"
	while [ "$(stat -c %s "$OUT/$name.tmp")" -lt "$want" ]; do
		for f in "$@"; do
			case $f in *.gz) zcat "$f" ;; *) cat "$f" ;; esac >> "$OUT/$name.tmp"
		done
	done
	mv "$OUT/$name.tmp" "$OUT/$name"
	echo "$REAL_SIZE" > "$OUT/$name.size"
}

# The real kube-apiserver's output, when the repository holds a recording of it: the test
# suite's security traffic (testdata/kube-apiserver, rows real-*) and the control-plane
# recording (testdata/kube-apiserver/controlplane, rows cp-*: kubelets, controllers,
# probes, people at a cluster's proportions; see docs/analyze.md).
if [ -s "$REAL_DIR/audit.log" ]; then
	# shellcheck disable=SC2046 # the backups' names have no spaces
	repeat_to real.log $(ls "$REAL_DIR"/audit-*.log.gz 2> /dev/null | sort) "$REAL_DIR/audit.log"
	use_input "$OUT/real.log" real-
	rounds
	# The recording's other formats, not timed: the webhook backend's EventList batches
	# and kube-audit-rest's AdmissionReviews.
	for f in "$REAL_DIR"/webhook-batches.ndjson "$REAL_DIR"/kube-audit-rest.ndjson; do
		if [ -s "$f" ]; then bin/auditship-slowpath "$f" | sed 's/^/    /'; fi
	done
else
	echo "real input: skipped: no $REAL_DIR/audit.log"
fi
if [ -s "$REAL_DIR/controlplane/audit.log.gz" ]; then
	repeat_to real-cp.log "$REAL_DIR/controlplane/audit.log.gz"
	use_input "$OUT/real-cp.log" cp-
	rounds
else
	echo "control-plane input: skipped: no $REAL_DIR/controlplane/audit.log.gz"
fi
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
