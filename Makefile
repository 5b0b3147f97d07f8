# tgrad: build the Lua 5.4 module (tgrad.so) in place, run the specs, the demo.
#   make          build tgrad.so
#   make test     busted specs (Lua 5.4), then "N passed, N failed"
#   make check    the specs again under AddressSanitizer + UBSan
#   make demo     the autograd tutorial (examples/autograd_tour.lua)
#   make host-example   a C host linking tgrad statically (examples/host.c)
#   make memcheck the examples under valgrind (leaks, invalid accesses)
#   make bench    benchmarks against PyTorch (bench/run.sh)
#   eval "$(make -s env)"   LUA_PATH/LUA_CPATH so require "tgrad" works anywhere

CC       ?= gcc
LUA      ?= lua5.4
PKGS     := lua5.4 openblas
ROOT     := $(abspath .)
DEPS_OK  := $(shell tools/deps.sh build >/dev/null 2>&1 && echo yes)
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs openblas 2>/dev/null)
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

.PHONY: all deps test check demo bench env clean install host-example memcheck

all: deps $(MODULE)

deps:
	@tools/deps.sh build

$(MODULE): $(OBJS)
	$(CC) -shared -o $@ $^ $(LDLIBS)

# static library for hosts that link tgrad in (examples/host.c)
$(BUILD)/libtgrad.a: $(OBJS)
	ar rcs $@ $^

$(BUILD)/host: examples/host.c $(BUILD)/libtgrad.a src/tgrad.h
	$(CC) $(ALL_CFLAGS) -Isrc -o $@ examples/host.c $(BUILD)/libtgrad.a $(shell pkg-config --libs lua5.4) $(LDLIBS) -lpthread

host-example: deps $(BUILD)/host
	$(BUILD)/host

# the CPU kernels: -O3 is what vectorises their loops (GCC 12's -O2 cost model
# vectorises none of them), no libm call in them reads errno, and nothing
# reads the FP exception flags (so compares in a loop may become blends)
$(BUILD)/backend/cpu/%.o: ALL_CFLAGS += -O3 -fno-math-errno -fno-trapping-math

$(BUILD)/%.o: src/%.c $(HDRS) Makefile
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
	@tools/deps.sh test
	@$(MAKE) --no-print-directory all host-example
	@$(SPEC_ENV) busted --lua=$(LUA) -o utfTerminal spec 2>&1 | tee $(BUILD)/test.log; \
	  $(LUA) tools/busted_summary.lua $(BUILD)/test.log

# sanitizers: a separate build dir and module; the interpreter preloads libasan
ASAN_LIB = $(shell $(CC) -print-file-name=libasan.so)
UBSAN_LIB = $(shell $(CC) -print-file-name=libubsan.so)
check:
	@tools/deps.sh test
	@$(MAKE) --no-print-directory BUILD=build-asan MODULE=build-asan/tgrad.so \
	  CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	  LDLIBS="$(PKG_LIBS) -fopenmp -lm -Wl,-z,nodelete -fsanitize=address,undefined" build-asan/tgrad.so
	@LD_PRELOAD="$(ASAN_LIB) $(UBSAN_LIB)" ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 TGRAD_SANITIZE=1 \
	  LUA_CPATH="$(ROOT)/build-asan/?.so;;" LUA_PATH="$(ROOT)/spec/?.lua;;" \
	  busted --lua=$(LUA) -o utfTerminal spec 2>&1 | tee build-asan/test.log; \
	  $(LUA) tools/busted_summary.lua build-asan/test.log

# leaks and invalid accesses under valgrind (the examples exercise graphs,
# hooks, custom Functions, in-place ops and higher-order gradients)
memcheck: all
	@for f in examples/autograd_tour.lua examples/higher_order.lua examples/custom_function.lua; do \
	  echo "valgrind: $$f"; \
	  LUA_CPATH="$(ROOT)/?.so;;" valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
	    --error-exitcode=9 $(LUA) $$f > /dev/null || exit 1; \
	done; echo "memcheck: no leaks, no invalid accesses"

demo: all
	@eval "$$($(MAKE) -s env)"; $(LUA) examples/autograd_tour.lua

bench: all
	@bench/run.sh

# luarocks (build.type = "make") passes INST_LIBDIR
INST_LIBDIR ?= /usr/local/lib/lua/5.4
install: $(MODULE)
	mkdir -p "$(INST_LIBDIR)"
	cp $(MODULE) "$(INST_LIBDIR)/tgrad.so"

clean:
	rm -rf build build-asan tgrad.so
include cuda.mk # cuda: the CUDA backend object, built when nvcc exists
