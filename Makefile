# roto: one Makefile for the library, the CLI, tests, benchmarks and fuzzers.
#
#   make             libroto.a and build/roto (CUDA backend too when nvcc is found)
#   make test        install missing system packages, build, run every test
#   make test-gpu    the GPU test suite (needs a CUDA device; skips visibly without)
#   make asan        the test suite under AddressSanitizer + UBSan (build-asan/)
#   make fuzz        build and briefly run the libFuzzer targets (clang)
#   make bench       CPU benchmarks (GEMM vs OpenBLAS)
#   make deps        only install the system packages
#   make CUDA=0 ...  skip the CUDA backend
#   make BUILD=dir   put every output under dir/ (default build/)

BUILD ?= build
CC ?= cc
NVCC ?= nvcc

# CUDA is built when nvcc is on PATH (or at /usr/local/cuda) unless CUDA=0.
ifeq ($(origin NVCC),default)
NVCC := nvcc
endif
NVCC_PATH := $(shell command -v $(NVCC) 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
ifeq ($(CUDA),0)
HAVE_CUDA := 0
else ifneq ($(NVCC_PATH),)
HAVE_CUDA := 1
else
HAVE_CUDA := 0
endif
CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC_PATH))

OPT ?= -O2
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter $(OPT) -g -fopenmp \
	-I. -Iengine -I/usr/include/OpenEXR
CFLAGS ?=
ALL_CFLAGS = $(CFLAGS_BASE) $(EXTRA_CFLAGS) $(CFLAGS)
LDLIBS_BASE := -fopenmp -lpng16 -ljpeg -ltiff -lz -ljansson -lOpenEXRCore-3_1 -lm -lpthread
# SIMD variants are compiled only in their own files and chosen at run time.
AVX2_FLAGS := -mavx2 -mfma -mf16c
AVX512_FLAGS := -mavx512f -mavx512bw -mavx512dq -mavx512vl -mfma -mf16c

# ---- sources ----------------------------------------------------------------
LIB_SRC := $(wildcard engine/*.c) $(wildcard kernels/cpu/*.c) $(wildcard io/*.c) \
	$(wildcard nets/*/*.c) $(wildcard weights/*.c) $(wildcard api/*.c)
CLI_SRC := $(wildcard tools/*.c)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_UTIL_SRC := $(wildcard tests/util/*.c) $(wildcard tests/ref/*.c)
GPU_TEST_SRC := $(wildcard tests/gpu/test_*.c)
CUDA_SRC := $(wildcard kernels/cuda/*.cu)
CUDA_CSRC := $(wildcard kernels/cuda/*.c)

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_UTIL_OBJ := $(TEST_UTIL_SRC:%.c=$(BUILD)/obj/%.o)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
GPU_TEST_BIN := $(GPU_TEST_SRC:tests/gpu/%.c=$(BUILD)/tests/gpu/%)

ifeq ($(HAVE_CUDA),1)
CUDA_ARCHS ?= 80 89 90
NVCC_GENCODE := $(foreach a,$(CUDA_ARCHS),-gencode arch=compute_$(a),code=sm_$(a))
NVCC_FLAGS ?= -O3 -std=c++17 -lineinfo -Xcompiler -Wall,-Wextra,-Wno-unused-parameter \
	-I. -Iengine -I$(CUDA_HOME)/include $(NVCC_GENCODE)
LIB_OBJ += $(CUDA_SRC:%.cu=$(BUILD)/obj/%.cu.o) $(CUDA_CSRC:%.c=$(BUILD)/obj/%.o)
ALL_CFLAGS += -DROTO_HAVE_CUDA=1 -I$(CUDA_HOME)/include
LDLIBS_CUDA := -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcudnn -lcublasLt \
	-lcublas -lcudart -lstdc++
endif
LDLIBS = $(LDLIBS_BASE) $(LDLIBS_CUDA) $(EXTRA_LDLIBS)
CHECK_LIBS := -lcheck_pic -lsubunit -lrt -lm

LIB := $(BUILD)/libroto.a
CLI := $(BUILD)/roto

.PHONY: all test test-gpu asan fuzz bench deps clean parity fixtures
.DEFAULT_GOAL := all

# Build the library and the CLI.
all: $(LIB) $(CLI)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

# Per-ISA kernel files get their instruction-set flags.
$(BUILD)/obj/%_avx2.o: %_avx2.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(AVX2_FLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%_avx512.o: %_avx512.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(AVX512_FLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.cu.o: %.cu
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCC_FLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(CLI): $(CLI_OBJ) $(LIB)
	$(CC) $(ALL_CFLAGS) -o $@ $(CLI_OBJ) $(LIB) $(LDLIBS)

# Each tests/test_*.c is one Check test program.
$(BUILD)/tests/%: tests/%.c $(TEST_UTIL_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests -MMD -MP -o $@ $< $(TEST_UTIL_OBJ) $(LIB) $(LDLIBS) $(CHECK_LIBS)

$(BUILD)/tests/gpu/%: tests/gpu/%.c $(TEST_UTIL_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests -MMD -MP -o $@ $< $(TEST_UTIL_OBJ) $(LIB) $(LDLIBS) $(CHECK_LIBS)

# Install what is missing (Debian packages), then build and run every test.
# GPU tests are built and run too; without a CUDA device they skip visibly.
test: deps
	$(MAKE) --no-print-directory build-tests
	scripts/run_tests.sh $(BUILD)/tests $(TEST_BIN) $(GPU_TEST_BIN)

.PHONY: build-tests
build-tests: $(LIB) $(CLI) $(TEST_BIN) $(GPU_TEST_BIN)

# The GPU suite alone (on a GPU host: every CUDA op against the CPU op).
test-gpu: $(LIB) $(GPU_TEST_BIN)
	scripts/run_tests.sh $(BUILD)/tests $(GPU_TEST_BIN)

# AddressSanitizer + UBSan build of the whole suite, CPU only.
asan: deps
	$(MAKE) --no-print-directory BUILD=build-asan CUDA=0 OPT=-O1 \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	  EXTRA_LDLIBS="-fsanitize=address,undefined" build-tests
	ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 CK_FORK=no \
	  scripts/run_tests.sh build-asan/tests $(TEST_SRC:tests/%.c=build-asan/tests/%)

# libFuzzer targets (tests/fuzz/fuzz_*.c), each run briefly on its seed corpus.
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_SECONDS ?= 30
fuzz: deps
	scripts/run_fuzz.sh $(FUZZ_SECONDS) $(FUZZ_SRC)

# CPU benchmarks: our GEMM vs OpenBLAS sgemm at SAM 2.1 shapes.
bench: $(LIB)
	$(MAKE) --no-print-directory $(BUILD)/bench/gemm_bench
	$(BUILD)/bench/gemm_bench

$(BUILD)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(LDLIBS) -lopenblas

deps:
	@scripts/install_deps.sh

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# SAM 2.1 image predictor against the official PyTorch code (sam2 1.1.0) at the four
# released sizes with random weights: tools/refgen/gen_sam2_fixtures.py writes the
# dumps to build/parity/sam2/<variant>/ (once), tests/test_sam2_image.c compares.
# Needs tools/refgen/.venv (tools/refgen/setup_venv.sh); skipped visibly without it.
# Every variant runs on every image of shared/footage/images (SAM2_PARITY_IMAGES).
SAM2_PARITY_VARIANTS ?= tiny small_real base_plus large
SAM2_PARITY_IMAGES ?= truck groceries cars
FOOTAGE ?= $(abspath ../shared/footage)
.PHONY: parity-sam2-image
parity-sam2-image: $(BUILD)/tests/test_sam2_image
	@if [ ! -x tools/refgen/.venv/bin/python ]; then \
	  echo "SKIP: parity-sam2-image: tools/refgen/.venv is missing (tools/refgen/setup_venv.sh)"; \
	  exit 0; fi; \
	for v in $(SAM2_PARITY_VARIANTS); do for img in $(SAM2_PARITY_IMAGES); do \
	  d=build/parity/sam2/$$v-$$img; \
	  if [ ! -f $$d/index.json ]; then \
	    tools/refgen/.venv/bin/python tools/refgen/gen_sam2_fixtures.py --config $$v --out $$d \
	      --image $(FOOTAGE)/images/$$img.jpg || exit 1; fi; \
	  echo "== SAM 2.1 image parity: $$v on $$img.jpg"; \
	  SAM2_PARITY_DIR=$$d CK_FORK=no $(BUILD)/tests/test_sam2_image || exit 1; \
	done; done

# SAM 2.1 video tracking against the official SAM2VideoPredictor (sam2 1.1.0) with
# random weights: tools/refgen/gen_sam2_video_fixtures.py runs the reference script on
# the first bedroom frames (tiny: 40, large: 12) into build/parity/sam2_video/<variant>/
# (once), tests/test_sam2_video.c replays it and prints every result's errors.
# Needs tools/refgen/.venv (tools/refgen/setup_venv.sh); skipped visibly without it.
SAM2_VIDEO_PARITY_VARIANTS ?= tiny large
.PHONY: parity-sam2-video
parity-sam2-video: $(BUILD)/tests/test_sam2_video
	@if [ ! -x tools/refgen/.venv/bin/python ]; then \
	  echo "SKIP: parity-sam2-video: tools/refgen/.venv is missing (tools/refgen/setup_venv.sh)"; \
	  exit 0; fi; \
	for v in $(SAM2_VIDEO_PARITY_VARIANTS); do \
	  d=build/parity/sam2_video/$$v; \
	  if [ ! -f $$d/index.json ]; then \
	    tools/refgen/.venv/bin/python tools/refgen/gen_sam2_video_fixtures.py --config $$v --out $$d \
	      || exit 1; fi; \
	  echo "== SAM 2.1 video parity: $$v"; \
	  SAM2_VIDEO_PARITY_DIR=$$d CK_FORK=no $(BUILD)/tests/test_sam2_video || exit 1; \
	done

# The image and video parity above on the CUDA backend (SAM2_PARITY_DEVICE=cuda) at each
# precision of SAM2_GPU_PRECISIONS, on the same dumps (made first when missing). fp32:
# rel L2 <= 1e-3, IoU as on the CPU; bf16: IoU >= 0.99 per mask (image), mean IoU >= 0.99
# (video); see sam2_parity_tol in tests/util/sam2_fixture.c. Without a CUDA device each
# run prints SKIP; a dump that is missing is made with tools/refgen/.venv, or skipped
# visibly without it (dumps copied from another machine are enough).
SAM2_GPU_PRECISIONS ?= fp32 bf16
PARITY_PY := tools/refgen/.venv/bin/python
.PHONY: parity-gpu
parity-gpu: $(BUILD)/tests/test_sam2_image $(BUILD)/tests/test_sam2_video
	@for v in $(SAM2_PARITY_VARIANTS); do for img in $(SAM2_PARITY_IMAGES); do \
	  d=build/parity/sam2/$$v-$$img; \
	  if [ ! -f $$d/index.json ] && [ ! -x $(PARITY_PY) ]; then \
	    echo "SKIP: parity-gpu: no dump $$d and no tools/refgen/.venv"; continue; fi; \
	  if [ ! -f $$d/index.json ]; then \
	    $(PARITY_PY) tools/refgen/gen_sam2_fixtures.py --config $$v --out $$d \
	      --image $(FOOTAGE)/images/$$img.jpg || exit 1; fi; \
	  for p in $(SAM2_GPU_PRECISIONS); do \
	    echo "== SAM 2.1 image parity on cuda $$p: $$v on $$img.jpg"; \
	    SAM2_PARITY_DEVICE=cuda SAM2_PARITY_PRECISION=$$p SAM2_PARITY_DIR=$$d CK_FORK=no \
	      $(BUILD)/tests/test_sam2_image || exit 1; \
	  done; done; done; \
	for v in $(SAM2_VIDEO_PARITY_VARIANTS); do \
	  d=build/parity/sam2_video/$$v; \
	  if [ ! -f $$d/index.json ] && [ ! -x $(PARITY_PY) ]; then \
	    echo "SKIP: parity-gpu: no dump $$d and no tools/refgen/.venv"; continue; fi; \
	  if [ ! -f $$d/index.json ]; then \
	    $(PARITY_PY) tools/refgen/gen_sam2_video_fixtures.py --config $$v --out $$d || exit 1; fi; \
	  for p in $(SAM2_GPU_PRECISIONS); do \
	    echo "== SAM 2.1 video parity on cuda $$p: $$v"; \
	    SAM2_PARITY_DEVICE=cuda SAM2_PARITY_PRECISION=$$p SAM2_VIDEO_PARITY_DIR=$$d CK_FORK=no \
	      $(BUILD)/tests/test_sam2_video || exit 1; \
	  done; done

# Real-size checkpoint reading: official .pt and Hugging Face safetensors of SAM 2.1
# tiny and large (random weights, tools/refgen/gen_ckpt_full.py), compared tensor by tensor.
.PHONY: parity-ckpt
parity-ckpt: $(BUILD)/tests/test_ckpt
	@if [ ! -f build/parity/ckpt/sam2.1_hiera_large_hf/model.safetensors ]; then \
	  tools/refgen/.venv/bin/python tools/refgen/gen_ckpt_full.py build/parity/ckpt \
	    || exit 1; fi
	ROTO_CKPT_FULL=build/parity/ckpt CK_FORK=no $(BUILD)/tests/test_ckpt

# Every fidelity check at real sizes against the official PyTorch code. Creates the
# reference venv first when it is missing (PyPI, a few GB, once).
parity:
	@[ -x tools/refgen/.venv/bin/python ] || tools/refgen/setup_venv.sh
	$(MAKE) --no-print-directory parity-ckpt parity-sam2-image parity-sam2-video

# ---- CUDA backend extras (kernels/cuda, bench/kernels; see docs/cuda.md) ------------
# compute-sanitizer over the GPU suite: memcheck on everything (the one very large
# attention case skipped: ROTO_GPU_SMALL=1), racecheck on the tests whose kernels
# share memory between threads (it is slow).
COMPUTE_SANITIZER ?= $(firstword $(shell command -v compute-sanitizer 2>/dev/null) \
	$(CUDA_HOME)/bin/compute-sanitizer)
RACECHECK_TESTS ?= test_attention_flash_head_dims,test_softmax,test_layernorm,test_connected_components,test_gemm_fallback_kernel
.PHONY: test-gpu-sanitize bench-gpu
test-gpu-sanitize: $(GPU_TEST_BIN)
	ROTO_GPU_SMALL=1 $(COMPUTE_SANITIZER) --tool memcheck --error-exitcode 1 \
	  $(BUILD)/tests/gpu/test_cuda_ops
	ROTO_GPU_SMALL=1 ROTO_GPU_TESTS=$(RACECHECK_TESTS) $(COMPUTE_SANITIZER) --tool racecheck \
	  --error-exitcode 1 $(BUILD)/tests/gpu/test_cuda_ops
	ROTO_GPU_SMALL=1 $(COMPUTE_SANITIZER) --tool memcheck --error-exitcode 1 \
	  $(BUILD)/tests/gpu/test_cuda_matte

# GPU kernel benchmarks: JSON to bench/results/<date>-<gpu>-kernels.json.
bench-gpu: $(BUILD)/bench/kernels/gpu_bench $(BUILD)/bench/kernels/matte_bench
	$(BUILD)/bench/kernels/gpu_bench --out bench/results
	$(BUILD)/bench/kernels/matte_bench --out bench/results

$(BUILD)/bench/kernels/gpu_bench: bench/kernels/gpu_bench.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DROTO_GIT_COMMIT="\"$$(git describe --always --dirty 2>/dev/null || echo unknown)\"" \
	  -o $@ $< $(LIB) $(LDLIBS)

# Matte ops (rt_matte_*) at 1080p and 4K, CPU and (with a device) CUDA:
# JSON to bench/results/<date>-<machine>-matte.json. Part of bench-gpu too.
.PHONY: bench-matte
bench-matte: $(BUILD)/bench/kernels/matte_bench
	$(BUILD)/bench/kernels/matte_bench --out bench/results

$(BUILD)/bench/kernels/matte_bench: bench/kernels/matte_bench.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DROTO_GIT_COMMIT="\"$$(git describe --always --dirty 2>/dev/null || echo unknown)\"" \
	  -o $@ $< $(LIB) $(LDLIBS)

# Frame I/O throughput: decode/encode of 1080p and 4K PNG, EXR and DPX (synthetic plates).
.PHONY: bench-io
bench-io: $(LIB)
	$(MAKE) --no-print-directory $(BUILD)/bench/io_bench
	$(BUILD)/bench/io_bench

# ---- demo (docs/demo.md) ----------------------------------------------------------------
# SAM 2.1 tiny tracks two children through 30 frames of the sam2 "bedroom" clip
# (demo/): per-frame multi-layer EXR mattes, per-object PNG mattes, previews and a
# contact sheet under $(DEMO_OUT). The official checkpoint is fetched (and checked)
# into weights/ first; offline, the script says which URL to download and where to put
# it. DEMO_ARGS adds options (e.g. DEMO_ARGS="--device cuda").
DEMO_WEIGHTS ?= weights/sam2.1_hiera_tiny.pt
DEMO_OUT ?= $(BUILD)/demo
DEMO_ARGS ?=
.PHONY: demo
demo: $(CLI)
	@if [ "$(DEMO_WEIGHTS)" = "weights/sam2.1_hiera_tiny.pt" ]; then \
	  scripts/fetch_weights.sh --roto $(CLI) || exit 1; fi
	$(CLI) track -m $(DEMO_WEIGHTS) -i demo/bedroom/bedroom.####.jpg --prompts demo/prompts.json \
	  --exr-out $(DEMO_OUT)/mattes/matte.####.exr -o '$(DEMO_OUT)/png/{obj}.####.png' \
	  --preview $(DEMO_OUT)/preview --contact-sheet $(DEMO_OUT)/contact.png --contact-every 5 $(DEMO_ARGS)
	@echo "demo: done. Look at $(DEMO_OUT)/contact.png first (every 5th frame, boy in blue, girl in orange),"
	@echo "      then $(DEMO_OUT)/preview/ (every frame), $(DEMO_OUT)/png/{boy,girl}.####.png (mattes) and"
	@echo "      $(DEMO_OUT)/mattes/matte.####.exr (layers obj_boy.A, obj_girl.A; open in Nuke or exrheader)."

# roto vs the official SAM 2.1 code (sam2 1.1.0 on PyTorch) with the same checkpoint,
# input and timing rules, and the client's targets: bench/run.sh (see bench/README.md).
# BENCH_DEVICE=cuda on a GPU host; the results go to bench/results/<date>-<machine>.*
BENCH_DEVICE ?= cpu
.PHONY: bench-sam2
bench-sam2: $(CLI)
	ROTO=$(CLI) bench/run.sh --device $(BENCH_DEVICE) $(BENCH_ARGS)
