# gcheap -- build, test, install.  `make help` lists the targets.
#
# Build modes (each in build/MODE/): release (-O2), debug (assertions and
# heap verification, GCHEAP_DEBUG=2), asan, tsan, valgrind (memcheck client
# requests).  `make MODE=debug lib` builds one mode's libraries.

MODE    ?= release
CC      ?= cc
PREFIX  ?= /usr/local
VERSION := 0.1.0

WARN    := -Wall -Wextra -Wpedantic -Werror -Wshadow -Wundef \
           -Wstrict-prototypes -Wmissing-prototypes
BASE    := -std=c11 -D_GNU_SOURCE -pthread -fPIC -fvisibility=hidden $(WARN)

CFLAGS_release  := -O2 -g
CFLAGS_debug    := -O1 -g -DGCHEAP_DEBUG=2
CFLAGS_asan     := -O1 -g -DGCHEAP_DEBUG=1 -fno-omit-frame-pointer \
                   -fsanitize=address,undefined -fno-sanitize-recover=all
CFLAGS_tsan     := -O1 -g -DGCHEAP_DEBUG=1 -fsanitize=thread
CFLAGS_valgrind := -O1 -g -DGCHEAP_DEBUG=1 -DGCHEAP_VALGRIND=1
LDFLAGS_asan    := -fsanitize=address,undefined
LDFLAGS_tsan    := -fsanitize=thread

CFLAGS  := $(BASE) $(CFLAGS_$(MODE)) $(EXTRA_CFLAGS)
LDFLAGS := -pthread $(LDFLAGS_$(MODE))

B       := build/$(MODE)
SRCS    := $(wildcard src/*.c)
OBJS    := $(SRCS:src/%.c=$(B)/obj/%.o)
LIB     := $(B)/libgcheap.a
SOLIB   := $(B)/libgcheap.so

UNIT    := $(patsubst test/%.c,$(B)/test/%,$(wildcard test/unit/*.c))
API     := $(patsubst test/%.c,$(B)/test/%,$(wildcard test/api/*.c))
WRONG   := $(patsubst test/%.c,$(B)/test/%,$(wildcard test/wrong/*.c))
STRESS  := $(patsubst test/%.c,$(B)/test/%,$(wildcard test/stress/*.c))
GC      := $(patsubst test/%.c,$(B)/test/%,$(wildcard test/gc/*.c))
VGPROGS := $(patsubst test/%.c,$(B)/test/%,$(wildcard test/valgrind/*.c))
EXAMPLES:= $(patsubst examples/%.c,$(B)/examples/%,$(wildcard examples/*.c))

.PHONY: all lib debug asan tsan valgrind test stress demo bench install clean \
        deps symbols clang sizeclasses help tests examples format format-check
.DEFAULT_GOAL := all

all: lib
lib: $(LIB) $(SOLIB)
debug asan tsan valgrind:
	$(MAKE) MODE=$@ lib

$(B)/obj/%.o: src/%.c src/*.h gcheap.h
	@mkdir -p $(@D)
	@echo "  CC [$(MODE)] $<"
	@$(CC) $(CFLAGS) -MMD -c $< -o $@

$(LIB): $(OBJS)
	@rm -f $@ && ar rcs $@ $^

$(SOLIB): $(OBJS)
	@$(CC) -shared -Wl,-soname,libgcheap.so.0 $(LDFLAGS) $^ -o $@

# Unit tests see the internals; the others see gcheap.h only.
$(B)/test/unit/%: test/unit/%.c $(LIB) test/check.h $(wildcard test/unit/*.h)
	@mkdir -p $(@D)
	@echo "  LD [$(MODE)] $<"
	@$(CC) $(CFLAGS) -Isrc $< $(LIB) $(LDFLAGS) -o $@
$(B)/test/%: test/%.c $(LIB) test/check.h $(wildcard test/*/*.h)
	@mkdir -p $(@D)
	@echo "  LD [$(MODE)] $<"
	@$(CC) $(CFLAGS) -I. $< $(LIB) $(LDFLAGS) -o $@
$(B)/examples/%: examples/%.c $(LIB)
	@mkdir -p $(@D)
	@echo "  LD [$(MODE)] $<"
	@$(CC) $(CFLAGS) -I. $< $(LIB) $(LDFLAGS) -o $@

tests: $(UNIT) $(API) $(WRONG) $(STRESS) $(GC) $(VGPROGS)

# test/gc/shlib loads a library built next to it.
$(B)/test/gc/shlib: $(B)/test/gc/libshlib_root.so
$(B)/test/gc/libshlib_root.so: test/gc/lib/shlib_root.c
	@mkdir -p $(@D)
	@echo "  SO [$(MODE)] $<"
	@$(CC) $(CFLAGS) -shared $< $(LDFLAGS) -o $@
examples: $(EXAMPLES)

# ---- Tests ----------------------------------------------------------------
# Each group appends its counts to build/tally (and each failure's last
# lines to build/tally.fail); the summary repeats the failures, prints the
# one closing "N passed, N failed" line and fails if anything did.

TALLY   := build/tally
RUN     = test/run.sh --tally $(TALLY) --group $(1)
# Address-space limits do not mix with sanitizers' shadow memory.
NOSAN   := %/rlimit_as %/oom
# Tests run under memcheck (50x slower): the API ones and a few of the
# collector's.
VGGC    := $(filter %/roots_stack %/roots_data %/roots_registered \
             %/uncollectable %/interior %/finalizers %/weak %/stats \
             %/fibers %/shlib %/free_marking,$(GC))
MEMCHECK := valgrind -q --error-exitcode=99 --leak-check=no
# Concurrent tests run again with the collector planning for 8 CPUs
# (GCHEAP_PROCS): the cycle's worker takes a whole CPU and a dedicated
# worker marks beside it (src/bgmark.c), as on a machine this one is not.
PROCS8  := $(filter %/barrier %/checkmark %/collect_concurrent \
             %/free_marking %/gogc %/memlimit %/memmove %/stopstorm \
             %/threads %/weak %/stats,$(GC))

test: deps
	@rm -f $(TALLY) $(TALLY).fail; mkdir -p build
	$(MAKE) MODE=debug tests
	$(call RUN,debug) $(UNIT:build/release/%=build/debug/%) \
	    $(patsubst build/release/%,build/debug/%,$(API) $(WRONG) $(STRESS) $(GC))
	$(MAKE) MODE=release tests examples
	$(call RUN,release) $(API) $(STRESS) $(GC) $(EXAMPLES)
	GCHEAP_CONCURRENT=1 \
	$(call RUN,concurrent) $(API) $(STRESS) $(GC) $(EXAMPLES)
	GCHEAP_CONCURRENT=1 \
	$(call RUN,debug-concurrent) $(patsubst build/release/%,build/debug/%,$(API) $(WRONG) $(GC))
	GCHEAP_CONCURRENT=1 GCHEAP_PROCS=8 \
	$(call RUN,debug-procs8) $(patsubst build/release/%,build/debug/%,$(PROCS8))
	$(MAKE) MODE=asan tests
	ASAN_OPTIONS=detect_stack_use_after_return=0 \
	$(call RUN,asan) $(patsubst build/release/%,build/asan/%,\
	    $(filter-out $(NOSAN),$(API) $(WRONG) $(STRESS) $(GC)))
	$(MAKE) MODE=tsan tests
	TSAN_OPTIONS=halt_on_error=1 \
	$(call RUN,tsan) $(patsubst build/release/%,build/tsan/%,\
	    $(filter-out $(NOSAN),$(API) $(STRESS) $(GC)))
	TSAN_OPTIONS=halt_on_error=1 GCHEAP_CONCURRENT=1 GCHEAP_PROCS=8 \
	$(call RUN,tsan-procs8) $(patsubst build/release/%,build/tsan/%,\
	    $(filter %/barrier %/free_marking %/threads,$(GC)))
	$(MAKE) MODE=valgrind tests
	$(call RUN,memcheck) --wrap "$(MEMCHECK)" \
	    $(patsubst build/release/%,build/valgrind/%,$(filter-out $(NOSAN),$(API) $(VGGC)))
	$(call RUN,memcheck-reports) test/valgrind/expect-report.sh
	$(call RUN,build) test/build-checks.sh
	@test/run.sh --summary $(TALLY)

# The long runs: the barrier torture test for 1000 cycles (with and
# without the checkmark), and the stress tests in both modes.
stress: deps
	$(MAKE) MODE=release tests
	GCT_CYCLES=1000 test/run.sh build/release/test/gc/barrier \
	    $(STRESS) build/release/test/gc/threads
	GCHEAP_CONCURRENT=1 test/run.sh $(STRESS) build/release/test/gc/threads

# Every exported symbol is gc_*: nothing internal leaks.
symbols: lib
	@bad=$$(nm -D --defined-only $(SOLIB) | awk '$$2 ~ /[TDBR]/ {print $$3}' \
	    | grep -v '^gc_'); \
	if [ -n "$$bad" ]; then echo "leaked symbols:"; echo "$$bad"; exit 1; fi; \
	echo "symbols: only gc_* exported"

# The library builds clean with clang as well.
clang:
	$(MAKE) MODE=release CC=clang B=build/clang lib

demo: lib build/release/examples/demo
	./build/release/examples/demo

bench: lib
	$(MAKE) -C bench run

sizeclasses:
	python3 tools/mksizeclasses.py src/sizeclass.c

FORMATTED := $(wildcard gcheap.h src/*.[ch] examples/*.c test/*.h \
               test/*/*.[ch] test/gc/lib/*.c bench/*.[ch])
format:
	clang-format -i $(FORMATTED)
format-check:
	@clang-format --dry-run --Werror $(FORMATTED) && echo "format: clean"

# ---- Dependencies -----------------------------------------------------------
# What a fresh Debian 12 machine lacks: installed when run as root with apt,
# otherwise named with the command to run.
DEB_PKGS := libatomic-ops-dev valgrind libgc-dev libmimalloc-dev pkg-config

deps:
	@missing=""; for p in $(DEB_PKGS); do \
	    dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	        apt-get install -y -qq $$missing >/dev/null || exit 1; \
	else \
	    echo "missing packages:$$missing"; \
	    echo "run: sudo apt-get install$$missing"; exit 1; \
	fi

# ---- Install ----------------------------------------------------------------

install: lib
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 gcheap.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(LIB) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(SOLIB) $(DESTDIR)$(PREFIX)/lib/libgcheap.so.$(VERSION)
	ln -sf libgcheap.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libgcheap.so.0
	ln -sf libgcheap.so.0 $(DESTDIR)$(PREFIX)/lib/libgcheap.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' \
	    gcheap.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/gcheap.pc

clean:
	rm -rf build
	$(MAKE) -C bench clean 2>/dev/null || true

help:
	@echo "make            release libgcheap.a and libgcheap.so (build/release)"
	@echo "make debug|asan|tsan|valgrind   the library in that mode"
	@echo "make demo       build and run examples/demo.c"
	@echo "make test       the whole test suite (all modes, memcheck)"
	@echo "make stress     long runs: 1000 barrier cycles, stress in both modes"
	@echo "make bench      benchmarks against glibc, mimalloc and bdwgc"
	@echo "make install PREFIX=/usr/local"
	@echo "make symbols    check that only gc_* symbols are exported"
	@echo "make deps       install missing Debian packages (as root)"

-include $(OBJS:.o=.d)
