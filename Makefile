# selmount: `make test` is the one test entry point (README, .ci/run).
GO ?= go

.PHONY: test test-unit build explain fuzz
test:
	bash hack/test.sh

# Unit tests only: no apt packages, no kube-apiserver, no VM.
test-unit:
	bash hack/test.d/10-unit.sh

build:
	$(GO) build -o bin/selmount ./cmd/selmount

explain:
	$(GO) run ./cmd/selmount explain

# Longer fuzzing of every parser (FUZZTIME=5m make fuzz).
fuzz:
	FUZZTIME=$${FUZZTIME:-2m} bash hack/fuzz.sh
