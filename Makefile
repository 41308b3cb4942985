# Thin wrapper over cmake and ctest: `make demo` and `make test` are the README's two commands.
# Both install what is missing (scripts/install-deps, needs root or sudo), then build.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?= -DCTW_WERROR=ON
DEMO ?= demo

.PHONY: all deps build demo test test-sanitize clean

all: build

deps:
	@scripts/install-deps

build: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

demo: build
	./$(BUILD)/cardiotwin --version
	./$(BUILD)/cardiotwin run cases/phantom-biv.xml -o $(DEMO)
	./$(BUILD)/cardiotwin verify $(DEMO)/phantom-biv
	@echo "demo: the package is $(DEMO)/phantom-biv (model/{opencarp,vtk,gmsh,febio,tetgen}, provenance.xml)"

# Every test: the full build, then the FULL program again under AddressSanitizer and UBSan
# (ITK, VTK, TetGen adapters on; -O1 keeps ITK bearable) running every CTest (unit, adapter,
# regress, hostile) except those labelled slow (too slow sanitized; they run in the plain pass).
# Leaks are detected; only third-party libraries' exit-time allocations are suppressed
# (tests/asan/lsan.supp). Forked and exec'd processes (the TetGen child) inherit the options.
SAN_ENV = ASAN_OPTIONS=halt_on_error=1:abort_on_error=0:detect_leaks=1:allocator_may_return_null=1:detect_stack_use_after_return=0 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/asan/lsan.supp:print_suppressions=0 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

test: build test-sanitize
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

test-sanitize: deps
	@cmake -S . -B $(BUILD)-asan -DCTW_WERROR=ON -DCTW_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" >/dev/null
	@cmake --build $(BUILD)-asan -j$(JOBS)
	cd $(BUILD)-asan && $(SAN_ENV) ctest --output-on-failure -j$(JOBS) -LE slow

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(DEMO)
