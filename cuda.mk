# cuda.mk: the CUDA backend (helper cuda), included by the Makefile's last line.
# Builds tgrad/cuda_backend.so, which tgrad.so dlopens on first use of the GPU
# (src/binding/cuda.c); tgrad.so itself never links CUDA.
#   make            builds it too when nvcc is found ($(CUDA_HOME)/bin/nvcc or on PATH)
#   make CUDA=0     skips it;   make CUDA=1   requires nvcc (an error without it)
#   make cuda       just the CUDA object;  make install also installs it (luarocks)
# Host and device code are -Werror clean; SASS for sm_80 and sm_90, PTX (compute_90) for newer GPUs.
CUDA_HOME ?= /usr/local/cuda
NVCC ?= $(firstword $(wildcard $(CUDA_HOME)/bin/nvcc) $(shell command -v nvcc 2>/dev/null))
CUDA_MODULE := tgrad/cuda_backend.so
CUDA_GENCODE := -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
                -gencode arch=compute_90,code=compute_90
NVCC_FLAGS := -O3 -std=c++17 -Xcompiler -fPIC,-Wall,-Wextra,-Werror -Werror all-warnings $(CUDA_GENCODE)
CUDA_CU := $(wildcard src/backend/cuda/*.cu)
CUDA_OBJS := $(patsubst src/%.cu,$(BUILD)/%.cu.o,$(CUDA_CU)) $(BUILD)/backend/cuda/cuda_backend.o
CUDA_HDRS := $(wildcard src/backend/cuda/*.h) src/ops/scalar_math.h src/ops.def src/tg.h src/backend/backend.h

ifeq ($(CUDA),1)
ifeq ($(NVCC),)
$(error CUDA=1 but nvcc was not found (set CUDA_HOME or NVCC))
endif
endif

.PHONY: cuda cuda-clean
clean: cuda-clean
cuda-clean:
	rm -rf tgrad/cuda_backend.so $(BUILD)/backend/cuda

ifneq ($(CUDA),0)
ifneq ($(NVCC),)
all: $(CUDA_MODULE)
cuda: $(CUDA_MODULE)

# luarocks (build.type = "make") runs `make install`: the object goes next to
# tgrad.so as tgrad/cuda_backend.so, where package.searchpath finds it
.PHONY: cuda-install
install: cuda-install
cuda-install: $(CUDA_MODULE)
	mkdir -p "$(INST_LIBDIR)/tgrad"
	cp $(CUDA_MODULE) "$(INST_LIBDIR)/tgrad/cuda_backend.so"

$(BUILD)/backend/cuda/%.cu.o: src/backend/cuda/%.cu $(CUDA_HDRS) cuda.mk
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCC_FLAGS) -c $< -o $@

$(BUILD)/backend/cuda/cuda_backend.o: src/backend/cuda/cuda_backend.c $(CUDA_HDRS) cuda.mk
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -Werror -std=gnu11 -fPIC -c $< -o $@

# cudart static (nvcc's default), cuBLAS shared, found through the rpath;
# --no-undefined: the object needs nothing from tgrad.so
$(CUDA_MODULE): $(CUDA_OBJS)
	@mkdir -p $(dir $@)
	$(NVCC) -shared $(CUDA_GENCODE) -o $@ $^ -lcublas -Xlinker -rpath,$(CUDA_HOME)/lib64 -Xlinker --no-undefined
else
cuda:
	@echo "cuda: nvcc not found, the CUDA backend is not built"
endif
else
cuda:
	@echo "cuda: CUDA=0, the CUDA backend is not built"
endif
