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

# Every test: the full build, then the pure-C core under AddressSanitizer and UBSan.
test: build test-sanitize
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

test-sanitize: deps
	@cmake -S . -B $(BUILD)-asan -DCTW_WERROR=ON -DCTW_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug \
		-DCTW_WITH_ITK=OFF -DCTW_WITH_VTK=OFF -DCTW_WITH_TETGEN=OFF >/dev/null
	@cmake --build $(BUILD)-asan -j$(JOBS)
	cd $(BUILD)-asan && ctest --output-on-failure -j$(JOBS)

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(DEMO)
