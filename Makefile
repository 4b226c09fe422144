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
