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
	./$(BUILD)/cardiotwin phantom --kind biv --noise 10 --seed 1 -o $(DEMO)/phantom-biv
	./$(BUILD)/cardiotwin info $(DEMO)/phantom-biv/image.nii.gz
	./$(BUILD)/cardiotwin info $(DEMO)/phantom-biv/dicom
	@echo "demo: outputs in $(DEMO)/phantom-biv (image, labels, DICOM series, truth.xml)"

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
