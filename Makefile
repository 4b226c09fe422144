GO ?= go
BIN := bin/auditship
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: build demo test e2e vet fuzz bench clean

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/auditship

# Test-only modules of their own (they carry dependencies the agent must not): `./...`
# of the main module does not reach them.
SUBMODULES := internal/testing/policydiff internal/testing/jsontext

vet:
	$(GO) vet ./...
	for m in $(SUBMODULES); do (cd $$m && $(GO) vet ./...) || exit 1; done

# The README's test command: vet, every test with the race detector, then a short fuzz run
# of line framing and decoding, and of the secrets preset (a canary planted in generated
# Secret bodies and patches must never reach the output). Its budget is a count of inputs,
# not a duration: with a duration, Go 1.26's fuzz coordinator can fail a target with a bare "context deadline
# exceeded" at the deadline on a busy machine (golang/go#75804, fixed in Go 1.27).
test: vet
	$(GO) test -race -count=1 -timeout 40m ./...
	for m in $(SUBMODULES); do (cd $$m && $(GO) test -race -count=1 ./...) || exit 1; done
	$(MAKE) fuzz FUZZTIME=20000x

# The end-to-end tests alone: a real kube-apiserver and etcd (built once per machine into
# ~/.cache/auditship/, see docs/development.md), MinIO, the Elasticsearch test server and
# the agent binary. Part of `make test` as well.
e2e:
	$(GO) test -race -count=1 -timeout 40m ./e2e/ ./internal/testing/kube/

FUZZTIME ?= 30s
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzFraming -fuzztime=$(FUZZTIME) ./inputs/file
	$(GO) test -run='^$$' -fuzz=FuzzDecodeEventList -fuzztime=$(FUZZTIME) ./inputs/webhook
	$(GO) test -run='^$$' -fuzz=FuzzSecretsPreset -fuzztime=$(FUZZTIME) ./filters/redact

# The quickstart: a realistic audit log from the project's generator, shipped once with
# configs/quickstart.yaml into demo-out/ (no external service).
demo: build
	rm -rf demo-out && mkdir -p demo-out/audit
	$(GO) run ./cmd/auditship-gen -events 10000 -seed 1 -o demo-out/audit/audit.log
	./$(BIN) run -c configs/quickstart.yaml --once
	@echo "--- what the filters did (auditship test):"
	./$(BIN) test -c configs/quickstart.yaml --input demo-out/audit/audit.log > /dev/null
	@echo "--- outputs:"
	@ls -l demo-out/siem.ndjson; find demo-out/archive -type f | head -5

# Throughput: Go benchmarks, then the end-to-end script (~300 MB generated once into
# bench-out/, and the recorded kube-apiserver output when testdata/ has it; prints the
# share of each input the decoder's fast path declines, then MB/s, events/s, CPU-s/GB,
# peak RSS and the ratios to a naive pipeline and to rsyslog, beside jq, rsyslog and
# Fluent Bit when they are installed; docs/performance.md).
bench: build
	$(GO) test -run '^$$' -bench . -benchtime 1s ./bench/ ./internal/analyze/
	GO=$(GO) bash bench/run.sh

clean:
	rm -rf bin demo-out bench-out
