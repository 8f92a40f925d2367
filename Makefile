# Relance — make run (the whole stack) and make test (everything).
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
TEMPORAL_VERSION := v1.5.1
STATICCHECK_VERSION := v0.8.2
WORKFLOWCHECK_VERSION := v0.6.0
# The real Temporal server and its SQL tool (make prod-local, the prod-local
# end-to-end and fault tests, the 100,000-invoice benchmark).
TEMPORAL_SERVER_VERSION := v1.32.1
TEMPORAL_SERVER := $(BIN)/temporal-server
TEMPORAL_SQL_TOOL := $(BIN)/temporal-sql-tool
TEMPORAL := $(BIN)/temporal
STATICCHECK := $(BIN)/staticcheck
WORKFLOWCHECK := $(BIN)/workflowcheck
DAY ?= 24h
# Tests create (and drop) their own databases on this server. It is given to
# the test targets only: `make run` stays on its embedded SQLite (.data/).
TEST_DATABASE_URL ?= $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)
TEST_ENV := DATABASE_URL='$(TEST_DATABASE_URL)' RELANCE_TEMPORAL_CLI='$(TEMPORAL)' RELANCE_TEMPORAL_SERVER='$(TEMPORAL_SERVER)' RELANCE_TEMPORAL_SQL_TOOL='$(TEMPORAL_SQL_TOOL)'

.PHONY: run prod-local temporal-server test unit lint bench tools clean

## run: the whole stack on the embedded default (Temporal dev server + UI, worker, API, SQLite, sinks, demo data)
run: $(TEMPORAL)
	env -u DATABASE_URL $(GO) run ./cmd/relance dev --temporal-cli $(TEMPORAL) --day $(DAY)

## prod-local: the production topology on this machine: the real Temporal server on the local PostgreSQL, relance api and two workers (Ctrl-C stops it)
prod-local: $(TEMPORAL_SERVER) $(TEMPORAL_SQL_TOOL)
	$(GO) run ./deploy/prodlocal/cmd/prodlocal --bin $(BIN) --day $(DAY) $(PRODLOCAL_FLAGS)

## temporal-server: build the real Temporal server and its SQL tool into bin/ (3+ minutes cold)
temporal-server: $(TEMPORAL_SERVER) $(TEMPORAL_SQL_TOOL)

## test: lint, then every suite: unit, workflow, store (PostgreSQL and SQLite), end to end (real Temporal dev server)
test: lint $(TEMPORAL) $(TEMPORAL_SERVER) $(TEMPORAL_SQL_TOOL)
	$(TEST_ENV) $(GO) test -count=1 -timeout 30m ./...

## unit: the tests without lint
unit: $(TEMPORAL) $(TEMPORAL_SERVER) $(TEMPORAL_SQL_TOOL)
	$(TEST_ENV) $(GO) test -count=1 -timeout 30m ./...

## lint: gofmt, go vet, staticcheck, workflowcheck
lint: $(STATICCHECK) $(WORKFLOWCHECK)
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './bin/*' -not -path './.data/*')); \
	  if [ -n "$$out" ]; then echo "gofmt -w these files:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...
	$(WORKFLOWCHECK) ./workflows/...

## bench: benchmarks that print figures (nothing is asserted on timings)
bench: $(TEMPORAL) $(TEMPORAL_SERVER) $(TEMPORAL_SQL_TOOL)
	$(TEST_ENV) $(GO) test -count=1 -run '^$$' -bench . -benchmem -timeout 240m ./...

tools: $(TEMPORAL) $(STATICCHECK) $(WORKFLOWCHECK) $(TEMPORAL_SERVER) $(TEMPORAL_SQL_TOOL)

$(TEMPORAL):
	GOBIN=$(BIN) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_VERSION)

# go install names them server and sql; each is installed through a
# temporary GOBIN and renamed, so a half-built binary never sits in bin/.
$(TEMPORAL_SERVER):
	@mkdir -p $(BIN)
	tmp=$$(mktemp -d) && GOBIN=$$tmp $(GO) install go.temporal.io/server/cmd/server@$(TEMPORAL_SERVER_VERSION) && mv $$tmp/server $@ && rm -rf $$tmp

$(TEMPORAL_SQL_TOOL):
	@mkdir -p $(BIN)
	tmp=$$(mktemp -d) && GOBIN=$$tmp $(GO) install go.temporal.io/server/cmd/tools/sql@$(TEMPORAL_SERVER_VERSION) && mv $$tmp/sql $@ && rm -rf $$tmp

$(STATICCHECK):
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

$(WORKFLOWCHECK):
	GOBIN=$(BIN) $(GO) install go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION)

clean:
	rm -rf $(BIN) .data
