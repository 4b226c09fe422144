GO ?= go
BIN := bin/auditship

.PHONY: build demo test bench fuzz vet clean

build:
	$(GO) build -o $(BIN) ./cmd/auditship

vet:
	$(GO) vet ./...

test: vet
	$(GO) test -race -count=1 -timeout 30m ./...

clean:
	rm -rf bin demo-out bench-out

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
