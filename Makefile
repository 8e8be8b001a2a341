# Herald — realtime pub/sub gateway. `make help` lists the targets.

GO        ?= go
BUF       := $(GO) tool -modfile=tools/go.mod buf
GRPCURL   := $(GO) tool -modfile=tools/grpcurl/go.mod grpcurl
BIN       := bin/herald
PKGS      := ./...
FUZZTIME  ?= 10s
TEST_TIMEOUT ?= 10m

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: ## Start a full server on the in-memory engine (gRPC :9090, HTTP :8080)
	$(GO) run ./cmd/herald serve

.PHONY: build
build: ## Build bin/herald
	$(GO) build -o $(BIN) ./cmd/herald

.PHONY: test
test: lint check-generated test-race fuzz-short ## Run every check: lint, generated code, race tests, short fuzzing

.PHONY: test-race
test-race: ## Run all tests with the race detector
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) $(PKGS)

.PHONY: lint
lint: ## go vet (here, and for macOS, Windows and 32-bit Linux), gofmt, buf lint, buf format
	$(GO) vet $(PKGS)
	GOOS=darwin $(GO) vet $(PKGS)
	GOOS=windows $(GO) vet $(PKGS)
	GOOS=linux GOARCH=386 $(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files --cached --others --exclude-standard '*.go' | grep -v '^gen/' | xargs -r ls 2>/dev/null)); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(BUF) lint
	$(BUF) format --diff --exit-code

.PHONY: breaking
breaking: ## Check the API for breaking changes against main
	$(BUF) breaking --against '.git#branch=main'

.PHONY: generate
generate: ## Regenerate gen/ from api/
	$(BUF) generate

.PHONY: check-generated
check-generated: generate ## Fail when gen/ is stale
	@if [ -n "$$(git status --porcelain -- gen/)" ]; then \
	  echo "gen/ is stale: run 'make generate' and commit the result"; \
	  git status --porcelain -- gen/; git diff --stat -- gen/; exit 1; fi

.PHONY: fuzz-short
fuzz-short: ## Run each fuzz target briefly (FUZZTIME, default 10s)
	GO=$(GO) scripts/fuzz-short.sh $(FUZZTIME) $(PKGS)

.PHONY: bench
bench: ## Run the benchmarks (engine fan-out, gRPC publish→receive, SSE and WebSocket fan-out, shared upstream streams)
	$(GO) test -run '^$$' -bench . -benchmem ./engine/memory/ ./server/
	$(GO) test -run '^$$' -bench '^BenchmarkFanout$$' -benchmem ./bridge/sse/ ./bridge/ws/
	$(GO) test -run '^$$' -bench '^BenchmarkSharedFanout$$' -benchmem ./bridge/

.PHONY: bench-load
bench-load: ## Measure a real server under load: make bench-load TRANSPORT=sse SCENARIO=1k-100 (docs/loadgen.md)
	scripts/bench.sh $(or $(TRANSPORT),sse) $(or $(SCENARIO),1k-100)

.PHONY: grpcurl
grpcurl: ## Build grpcurl (pinned) for the README session: make grpcurl && bin/grpcurl ...
	cd tools/grpcurl && $(GO) build -o ../../bin/grpcurl github.com/fullstorydev/grpcurl/cmd/grpcurl

.PHONY: clean
clean: ## Remove build output
	rm -rf bin
