# tgrad: build the Lua 5.4 module (tgrad.so) in place, run the specs, the demo.
#   make          build tgrad.so
#   make test     busted specs (Lua 5.4), then "N passed, N failed"; the C hosts
#   make check    the specs again under AddressSanitizer + UBSan, then a fuzz slice
#   make fuzz     >= 1,000,000 random calls under ASan/UBSan over many seeds
#   make fuzz-parser  libFuzzer on the nested-table parser (needs clang: make deps-fuzz)
#   make fuzz-safetensors  libFuzzer on tg.load's safetensors reader (clang)
#   make demo     the autograd tutorial (examples/autograd_tour.lua), then resnet18's graph
#   make install PREFIX=...  tgrad.so, libtgrad.a, tgrad.h, tgrad.pc
#   make host-example   C hosts built from the installed files (examples/host*.c)
#   make memcheck the examples under valgrind (leaks, invalid accesses)
#   make bench    benchmarks against PyTorch (bench/run.sh)
#   eval "$(make -s env)"   LUA_PATH/LUA_CPATH so require "tgrad" works anywhere
# Only `make deps`, `make deps-fuzz`, `make test` and `make demo` install
# packages (tools/deps.sh: apt-get, as root); nothing runs at parse time, so
# `make`, `make clean`, `make -s env` and `luarocks make` never touch the system.

CC       ?= gcc
LUA      ?= lua5.4
ROOT     := $(abspath .)
# --- blas: the BLAS behind matrix products and convolutions, a build-time
# choice: make BLAS=openblas (the default: Debian's libopenblas-dev) | blis
# (Debian's libblis-dev, OpenMP) | mkl (Intel MKL linked statically, found by
# pkg-config as $(MKL_PC): Debian non-free's libmkl-dev, or PyPI's mkl-static +
# mkl-include + mkl-devel with PKG_CONFIG_PATH=<dir>/lib/pkgconfig). Objects are
# rebuilt when the choice changes ($(BUILD)/blas.*); bench/README.md compares them.
override BLAS := $(or $(strip $(BLAS)),openblas)
MKL_PC   ?= mkl-static-lp64-gomp
ifeq ($(BLAS),openblas)
BLAS_PC  := openblas
BLAS_CFLAGS :=
BLAS_LIBS :=
else ifeq ($(BLAS),blis)
BLAS_PC  :=
BLAS_CFLAGS := -DTG_BLAS_BLIS -I$(ROOT)/src/backend/cpu/blas_compat -isystem /usr/include/$(shell $(CC) -dumpmachine 2>/dev/null)/blis-openmp
BLAS_LIBS := -lblis
else ifeq ($(BLAS),mkl)
BLAS_PC  := $(MKL_PC)
BLAS_CFLAGS := -DTG_BLAS_MKL -I$(ROOT)/src/backend/cpu/blas_compat
BLAS_LIBS :=
else
$(error BLAS=$(BLAS): choose openblas, blis or mkl)
endif
# --- end blas
PKGS     := lua5.4 $(BLAS_PC)
PKG_CFLAGS = $(BLAS_CFLAGS) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(if $(BLAS_PC),$(shell pkg-config --libs $(BLAS_PC) 2>/dev/null)) $(BLAS_LIBS)
WARN     := -Wall -Wextra
CFLAGS   ?= -O2 -g
LUA_INCDIR ?=
ALL_CFLAGS = $(CFLAGS) $(WARN) -std=gnu11 -fPIC -fopenmp $(if $(LUA_INCDIR),-I$(LUA_INCDIR)) $(PKG_CFLAGS)
# nodelete: lua_close dlcloses C modules, but the OpenBLAS and OpenMP thread pools
# must not lose their code under them while they wind down
LDLIBS   = $(PKG_LIBS) -fopenmp -lm -Wl,-z,nodelete

SRCS := $(wildcard src/*.c src/autograd/*.c src/ops/*.c src/backend/cpu/*.c src/binding/*.c)
LUA_SRCS := $(shell find lua -name '*.lua' | sort)
HDRS := $(wildcard src/*.h src/*/*.h src/*/*/*.h src/*.def)
BUILD ?= build
OBJS := $(patsubst src/%.c,$(BUILD)/%.o,$(SRCS)) $(BUILD)/embedded_lua.o
MODULE ?= tgrad.so

.PHONY: all deps deps-fuzz asan-module test check fuzz fuzz-parser fuzz-safetensors demo bench env clean install host-example memcheck

all: $(MODULE)

deps:
	@tools/deps.sh test $(BLAS)

deps-fuzz:
	@tools/deps.sh fuzz $(BLAS)

$(MODULE): $(OBJS)
	$(CC) -shared -o $@ $^ $(LDLIBS)

# static library for hosts that link tgrad in (examples/host.c)
$(BUILD)/libtgrad.a: $(OBJS)
	ar rcs $@ $^

# the C hosts are built from what `make install` puts in a staging prefix,
# with the link line of its tgrad.pc, as a user's program would be
STAGE = $(ROOT)/$(BUILD)/stage
STAGE_PC = PKG_CONFIG_PATH="$(STAGE)/lib/pkgconfig$${PKG_CONFIG_PATH:+:$$PKG_CONFIG_PATH}" pkg-config
$(STAGE)/include/tgrad.h: $(MODULE) $(BUILD)/libtgrad.a src/tgrad.h
	@$(MAKE) --no-print-directory install PREFIX="$(STAGE)" INST_LIBDIR="$(STAGE)/lib/lua/5.4" >/dev/null

$(BUILD)/host $(BUILD)/host_threads: $(BUILD)/%: examples/%.c $(STAGE)/include/tgrad.h
	$(CC) -O2 -Wall -o $@ $< $$($(STAGE_PC) --cflags --libs tgrad)

host-example: $(BUILD)/host $(BUILD)/host_threads
	$(BUILD)/host
	$(BUILD)/host_threads

# the CPU kernels: -O3 is what vectorises their loops (GCC 12's -O2 cost model
# vectorises none of them), no libm call in them reads errno, and nothing
# reads the FP exception flags (so compares in a loop may become blends)
$(BUILD)/backend/cpu/%.o: ALL_CFLAGS += -O3 -fno-math-errno -fno-trapping-math

# the BLAS choice in a stamp file: objects are rebuilt when it changes
BLAS_STAMP := $(BUILD)/blas.$(BLAS)
$(BLAS_STAMP):
	@mkdir -p $(BUILD); rm -f $(BUILD)/blas.*; touch $@

$(BUILD)/%.o: src/%.c $(HDRS) Makefile $(BLAS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/embedded_lua.c: $(LUA_SRCS) tools/embed.lua
	@mkdir -p $(BUILD)
	$(LUA) tools/embed.lua $@ $(LUA_SRCS)

$(BUILD)/embedded_lua.o: $(BUILD)/embedded_lua.c
	$(CC) $(ALL_CFLAGS) -Isrc -c $< -o $@

env:
	@echo '# the Lua parts are compiled into tgrad.so: only LUA_CPATH matters'
	@echo 'export LUA_PATH="$${LUA_PATH:-;;}"'
	@echo 'export LUA_CPATH="$(ROOT)/?.so;$${LUA_CPATH:-;}"'

SPEC_ENV = LUA_CPATH="$(ROOT)/?.so;;" LUA_PATH="$(ROOT)/spec/?.lua;;"
test:
	@tools/deps.sh test $(BLAS)
	@$(MAKE) --no-print-directory all host-example
	@$(SPEC_ENV) busted --lua=$(LUA) -o utfTerminal spec 2>&1 | tee $(BUILD)/test.log; \
	  $(LUA) tools/busted_summary.lua $(BUILD)/test.log

# sanitizers: a separate build dir and module; the interpreter preloads libasan
ASAN_LIB = $(shell $(CC) -print-file-name=libasan.so)
UBSAN_LIB = $(shell $(CC) -print-file-name=libubsan.so)
# (the pools are off in this build: tg.h's TG_POOLS_OFF under __SANITIZE_ADDRESS__)
ASAN_ENV = LD_PRELOAD="$(ASAN_LIB) $(UBSAN_LIB)" ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:allocator_may_return_null=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 TGRAD_SANITIZE=1 \
	  LUA_CPATH="$(ROOT)/build-asan/?.so;;" LUA_PATH="$(ROOT)/spec/?.lua;;"
asan-module:
	@$(MAKE) --no-print-directory BUILD=build-asan MODULE=build-asan/tgrad.so \
	  CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	  LDLIBS="$(PKG_LIBS) -fopenmp -lm -Wl,-z,nodelete -fsanitize=address,undefined" build-asan/tgrad.so

check: asan-module
	@$(ASAN_ENV) busted --lua=$(LUA) -o utfTerminal spec 2>&1 | tee build-asan/test.log; \
	  $(LUA) tools/busted_summary.lua build-asan/test.log
	@$(ASAN_ENV) $(LUA) tools/fuzz.lua --seed 1 --calls 100000

# the fuzzer (tools/fuzz.lua): FUZZ_CALLS random calls over seeds from FUZZ_SEED,
# each seed in its own process (a crash names its seed and a minimised repro)
FUZZ_CALLS ?= 1000000
FUZZ_SEED ?= 1000
fuzz: asan-module
	@$(ASAN_ENV) $(LUA) tools/fuzz.lua --seeds $(FUZZ_SEED) --total $(FUZZ_CALLS) --per-seed 20000

# libFuzzer on tg.tensor's nested-table parser (tools/fuzz_parser.c), clang only
FUZZ_TIME ?= 60
fuzz-parser:
	@command -v clang >/dev/null || { echo "fuzz-parser needs clang: make deps-fuzz (apt-get, as root)"; exit 1; }
	@$(MAKE) --no-print-directory BUILD=build-fuzz MODULE=build-fuzz/tgrad.so CC=clang \
	  CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -Wno-pass-failed" build-fuzz/libtgrad.a
	clang -O1 -g -fsanitize=fuzzer,address,undefined -Isrc $(PKG_CFLAGS) -o build-fuzz/fuzz_parser \
	  tools/fuzz_parser.c build-fuzz/libtgrad.a $(shell pkg-config --libs lua5.4) $(PKG_LIBS) -fopenmp -lm -lpthread
	mkdir -p build-fuzz/corpus build-fuzz/crashes
	ASAN_OPTIONS=allocator_may_return_null=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  build-fuzz/fuzz_parser -max_total_time=$(FUZZ_TIME) -max_len=4096 -timeout=20 -rss_limit_mb=4096 \
	  -artifact_prefix=build-fuzz/crashes/ build-fuzz/corpus tools/fuzz_parser_corpus

# libFuzzer on tg.load's safetensors reader (tools/fuzz_safetensors.c), clang only
fuzz-safetensors:
	@command -v clang >/dev/null || { echo "fuzz-safetensors needs clang: make deps-fuzz (apt-get, as root)"; exit 1; }
	@$(MAKE) --no-print-directory BUILD=build-fuzz MODULE=build-fuzz/tgrad.so CC=clang \
	  CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -Wno-pass-failed" build-fuzz/libtgrad.a
	clang -O1 -g -fsanitize=fuzzer,address,undefined -Isrc $(PKG_CFLAGS) -o build-fuzz/fuzz_safetensors \
	  tools/fuzz_safetensors.c build-fuzz/libtgrad.a $(shell pkg-config --libs lua5.4) $(PKG_LIBS) -fopenmp -lm -lpthread
	mkdir -p build-fuzz/corpus-st build-fuzz/crashes
	ASAN_OPTIONS=allocator_may_return_null=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  build-fuzz/fuzz_safetensors -max_total_time=$(FUZZ_TIME) -max_len=8192 -timeout=20 -rss_limit_mb=4096 \
	  -artifact_prefix=build-fuzz/crashes/ build-fuzz/corpus-st spec/fixtures/safetensors

# leaks and invalid accesses under valgrind (the examples exercise graphs,
# hooks, custom Functions, in-place ops and higher-order gradients)
memcheck: all
	@for f in examples/autograd_tour.lua examples/higher_order.lua examples/custom_function.lua; do \
	  echo "valgrind: $$f"; \
	  LUA_CPATH="$(ROOT)/?.so;;" valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
	    --error-exitcode=9 $(LUA) $$f > /dev/null || exit 1; \
	done; echo "memcheck: no leaks, no invalid accesses"

demo: deps all
	@eval "$$($(MAKE) -s env)"; $(LUA) examples/autograd_tour.lua && \
	  echo && echo "== examples/resnet18_graph.lua (the torchviz exercise; files in $(BUILD)/)" && \
	  $(LUA) examples/resnet18_graph.lua $(BUILD)

bench: all
	@bench/run.sh

# make install PREFIX=/opt/tgrad: PREFIX/lib/lua/5.4/tgrad.so (the Lua module),
# PREFIX/lib/libtgrad.a, PREFIX/include/tgrad.h, PREFIX/lib/pkgconfig/tgrad.pc.
# luarocks (build.type = "make") passes INST_LIBDIR and its tree's PREFIX.
PREFIX ?= /usr/local
INST_LIBDIR ?= $(PREFIX)/lib/lua/5.4
$(BUILD)/tgrad.pc: tools/tgrad.pc.in Makefile
	@mkdir -p $(BUILD)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@BLAS_PC@|$(BLAS_PC)|' -e 's|@BLAS_LIBS@|$(BLAS_LIBS)|' tools/tgrad.pc.in > $@
install: $(MODULE) $(BUILD)/libtgrad.a
	@rm -f $(BUILD)/tgrad.pc; $(MAKE) --no-print-directory PREFIX="$(PREFIX)" $(BUILD)/tgrad.pc >/dev/null
	mkdir -p "$(DESTDIR)$(INST_LIBDIR)" "$(DESTDIR)$(PREFIX)/lib/pkgconfig" "$(DESTDIR)$(PREFIX)/include"
	cp $(MODULE) "$(DESTDIR)$(INST_LIBDIR)/tgrad.so"
	cp $(BUILD)/libtgrad.a "$(DESTDIR)$(PREFIX)/lib/libtgrad.a"
	cp src/tgrad.h "$(DESTDIR)$(PREFIX)/include/tgrad.h"
	cp $(BUILD)/tgrad.pc "$(DESTDIR)$(PREFIX)/lib/pkgconfig/tgrad.pc"

clean:
	rm -rf build build-asan build-fuzz tgrad.so

include cuda.mk # cuda: the CUDA backend object, built when nvcc exists
