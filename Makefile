# Cloud Kafka developer targets. `make help` lists them.

GO       ?= go
SEEDS    ?= 100
FUZZTIME ?= 20s
# Extra flags for the benchmark, e.g. BENCHFLAGS='-suites produce -runs 2 -records 50000'
# or BENCHFLAGS='-targets kfake -records 50000'
# or BENCHFLAGS='-suites group' (rebalance time and commit latency only)
# or BENCHFLAGS='-suites replication' (three brokers with ZooKeeper, rf=3,
# against one broker; needs Debian's zookeeper, which make deps installs)
# or BENCHFLAGS='-suites failover -failover-rounds 1' (a SIGKILLed leader's
# partitions until they take writes again; about 20 s a round)
# or BENCHFLAGS='-suites security' (one broker's PLAINTEXT, SSL and SASL_SSL
# listeners in turn; about 20 s with the defaults)
# or BENCHFLAGS='-suites restart -restart-bytes 1073741824' (start times
# after SIGTERM and SIGKILL with 1 GiB held; 10 GB by default).
# make bench rewrites README.md's benchmark results section after a run that
# completes with the produce suite; BENCHFLAGS="-readme ''" leaves it alone.
BENCHFLAGS ?=

.PHONY: help run cluster deps test vet unit race bugs fuzz-short sim sim-long fuzz bench lint clean

help:
	@echo 'make run        one broker on 127.0.0.1:9092, data under ./data'
	@echo 'make cluster    ZooKeeper and three brokers on 127.0.0.1:9092-9094, data under ./cluster'
	@echo 'make deps       install the Debian packages the tests need'
	@echo 'make test       deps, vet, all tests, race tests, a short fuzz run (FUZZTIME=$(FUZZTIME))'
	@echo 'make sim        simulate SEEDS=$(SEEDS) seeds'
	@echo 'make sim-long   simulate 10000 seeds'
	@echo 'make fuzz       fuzz the request and legacy message set decoders for FUZZTIME each (default 2m here)'
	@echo 'make bench      produce/consume (medians of interleaved runs against Cloud Kafka, a durable broker, kfake and the client ceiling), group rebalance and commit benchmarks; rf=3 cluster against one broker; failover of a killed leader; PLAINTEXT against SSL and SASL_SSL; the performance goals; rewrites the README benchmark section'
	@echo 'make lint       gofmt and go vet'

run:
	$(GO) run ./cmd/cloudkafka config/server.properties

cluster:
	scripts/cluster.sh

deps:
	scripts/deps.sh

# The whole suite: keep it under 20 minutes on 2 cores.
test: deps vet unit race bugs fuzz-short

vet:
	$(GO) vet ./...

unit:
	$(GO) test -count=1 -timeout 20m ./...

race:
	$(GO) test -count=1 -race -timeout 20m ./realio/... ./io/...

# Deliberate bugs, compiled in only with the simbugs tag: each must be
# caught by the simulator's checkers within its stated number of seeds.
bugs:
	$(GO) test -tags simbugs -run 'TestDeliberateBugs|TestLinearizableCatchesBugs' -count=1 -timeout 20m ./sim

# FUZZTIME=0 skips the fuzz run.
fuzz-short:
ifneq ($(FUZZTIME),0)
	$(GO) test -run '^$$' -fuzz FuzzRequest -fuzztime $(FUZZTIME) ./fuzz/
	$(GO) test -run '^$$' -fuzz FuzzLegacySet -fuzztime $(FUZZTIME) ./core/
endif

sim:
	$(GO) run ./cmd/cksim -seeds $(SEEDS)

sim-long:
	$(MAKE) sim SEEDS=10000

fuzz:
	$(MAKE) fuzz-short FUZZTIME=$(if $(filter command line environment,$(origin FUZZTIME)),$(FUZZTIME),2m)

bench:
	$(GO) run ./cmd/ckbench -readme README.md $(BENCHFLAGS)

lint:
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then echo "gofmt -l: these files need gofmt -w:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf ./data
