# Build rules for the benchmark tools (bench/loopback and bench/accuracy use them; the
# top-level Makefile may include this file). Outputs go to build/bench/.
BENCH_CC ?= cc
BENCH_CFLAGS ?= -std=c11 -O2 -g -D_GNU_SOURCE -Wall -Wextra -Wpedantic -Wshadow \
	-Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla -pthread
BENCH_DIR ?= build/bench

$(BENCH_DIR)/tls_bulk: bench/tls_bulk.c
	@mkdir -p $(@D)
	$(BENCH_CC) $(BENCH_CFLAGS) $(shell pkg-config --cflags openssl) -o $@ $< \
		$(shell pkg-config --libs openssl) -pthread

$(BENCH_DIR)/delayline: bench/accuracy/delayline.c
	@mkdir -p $(@D)
	$(BENCH_CC) $(BENCH_CFLAGS) -o $@ $< -pthread

.PHONY: bench-tools
bench-tools: $(BENCH_DIR)/tls_bulk $(BENCH_DIR)/delayline
