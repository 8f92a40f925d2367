# Relance — make run (the whole stack) and make test (everything).
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
TEMPORAL_VERSION := v1.5.1
STATICCHECK_VERSION := v0.8.2
WORKFLOWCHECK_VERSION := v0.6.0
TEMPORAL := $(BIN)/temporal
STATICCHECK := $(BIN)/staticcheck
WORKFLOWCHECK := $(BIN)/workflowcheck
DAY ?= 24h
# Tests create (and drop) their own databases on this server. It is given to
# the test targets only: `make run` stays on its embedded SQLite (.data/).
TEST_DATABASE_URL ?= $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)
TEST_ENV := DATABASE_URL='$(TEST_DATABASE_URL)' RELANCE_TEMPORAL_CLI='$(TEMPORAL)'

.PHONY: run test unit lint bench tools clean

## run: the whole stack on the embedded default (Temporal dev server + UI, worker, API, SQLite, sinks, demo data)
run: $(TEMPORAL)
	env -u DATABASE_URL $(GO) run ./cmd/relance dev --temporal-cli $(TEMPORAL) --day $(DAY)

## test: lint, then every suite: unit, workflow, store (PostgreSQL and SQLite), end to end (real Temporal dev server)
test: lint $(TEMPORAL)
	$(TEST_ENV) $(GO) test -count=1 -timeout 30m ./...

## unit: the tests without lint
unit: $(TEMPORAL)
	$(TEST_ENV) $(GO) test -count=1 -timeout 30m ./...

## lint: gofmt, go vet, staticcheck, workflowcheck
lint: $(STATICCHECK) $(WORKFLOWCHECK)
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './bin/*' -not -path './.data/*')); \
	  if [ -n "$$out" ]; then echo "gofmt -w these files:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...
	$(WORKFLOWCHECK) ./workflows/...

## bench: benchmarks that print figures (nothing is asserted on timings)
bench: $(TEMPORAL)
	$(TEST_ENV) $(GO) test -count=1 -run '^$$' -bench . -benchmem -timeout 60m ./...

tools: $(TEMPORAL) $(STATICCHECK) $(WORKFLOWCHECK)

$(TEMPORAL):
	GOBIN=$(BIN) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_VERSION)

$(STATICCHECK):
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

$(WORKFLOWCHECK):
	GOBIN=$(BIN) $(GO) install go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION)

clean:
	rm -rf $(BIN) .data
