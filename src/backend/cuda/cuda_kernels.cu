// cuda_kernels.cu: copies, casts, fills and the elementwise unary/binary ops
// over strided views (broadcast = stride 0). The scalar math is
// src/ops/scalar_math.h, the same definitions the CPU kernels use.
#include <math.h>
#include <stdint.h>

#include "cuda_state.h"
#include "../../ops/scalar_math.h"

namespace {

enum {
#define TG_UNARY(E, name, gname, int_ok) OP_##E,
#define TG_BINARY(E, name, gname, kind) OP_##E,
#include "../../ops.def"
  OP_COUNT
};

const int kThreads = 256;

inline unsigned blocks_for(int64_t n) {
  int64_t b = (n + kThreads - 1) / kThreads;
  return (unsigned)(b > 65535 * 32 ? 65535 * 32 : b);
}

int64_t geom_numel(const tgcu_geom *g) {
  int64_t n = 1;
  for (int d = 0; d < g->ndim; d++) n *= g->size[d];
  return n;
}

// element offsets of linear index i (row-major over size) in the K strided operands
template <int K>
__device__ inline void offsets(const tgcu_geom &g, int64_t i, int64_t *off) {
  for (int k = 0; k < K; k++) off[k] = 0;
  for (int d = g.ndim - 1; d >= 0; d--) {
    int64_t sz = g.size[d], j = i % sz;
    i /= sz;
    for (int k = 0; k < K; k++) off[k] += j * g.stride[k][d];
  }
}

template <typename TO, typename TI>
__device__ inline TO convert(TI v) { return (TO)v; }
template <>
__device__ inline bool convert<bool, float>(float v) { return v != 0; }
template <>
__device__ inline bool convert<bool, double>(double v) { return v != 0; }

template <typename TO, typename TI>
__global__ void copy_k(TO *out, const TI *in, tgcu_geom g, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t off[2];
    offsets<2>(g, i, off);
    out[off[0]] = convert<TO, TI>(in[off[1]]);
  }
}

template <typename T>
__global__ void fill_k(T *out, T v, tgcu_geom g, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t off[1];
    offsets<1>(g, i, off);
    out[off[0]] = v;
  }
}

template <typename T>
__device__ inline T unary_op(int op, T v, const double *p) {
  switch (op) {
    case OP_NEG: return TG_SM_NEG(v);
    case OP_EXP: return TG_SM_EXP(v);
    case OP_LOG: return TG_SM_LOG(v);
    case OP_LOG1P: return TG_SM_LOG1P(v);
    case OP_SQRT: return TG_SM_SQRT(v);
    case OP_ABS: return TG_SM_ABS(v);
    case OP_SIGN: return (T)TG_SM_SIGN(v);
    case OP_SIGMOID: return TG_SM_SIGMOID(v);
    case OP_TANH: return TG_SM_TANH(v);
    case OP_RELU: return TG_SM_RELU(v);
    case OP_EXPM1: return TG_SM_EXPM1(v);
    case OP_RSQRT: return TG_SM_RSQRT(v);
    case OP_SIN: return TG_SM_SIN(v);
    case OP_COS: return TG_SM_COS(v);
    case OP_TAN: return TG_SM_TAN(v);
    case OP_SILU: return TG_SM_SILU(v);
    case OP_ERF: return TG_SM_ERF(v);
    case OP_FLOOR: return TG_SM_FLOOR(v);
    case OP_CEIL: return TG_SM_CEIL(v);
    case OP_ROUND: return TG_SM_ROUND(v);
    case OP_TRUNC: return TG_SM_TRUNC(v);
    case OP_RECIPROCAL: return TG_SM_RECIPROCAL(v);
    case OP_SQUARE: return TG_SM_SQUARE(v);
    case OP_GELU: return TG_SM_GELU(v, p[0] != 0);
    case OP_SOFTPLUS: return TG_SM_SOFTPLUS(v, (T)p[0], (T)p[1]);
    case OP_CLAMP: return TG_SM_CLAMP(v, (T)p[0], (T)p[1], p[2] != 0, p[3] != 0);
    default: return v;
  }
}

struct params4 { double p[4]; };

template <typename T>
__global__ void unary_k(int op, T *out, const T *x, params4 p, tgcu_geom g, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t off[2];
    offsets<2>(g, i, off);
    out[off[0]] = unary_op<T>(op, x[off[1]], p.p);
  }
}

template <typename T>
__device__ inline T arith_op(int op, T a, T b) {
  switch (op) {
    case OP_ADD: return TG_SM_ADD(a, b);
    case OP_SUB: return TG_SM_SUB(a, b);
    case OP_MUL: return TG_SM_MUL(a, b);
    case OP_DIV: return TG_SM_DIV(a, b);
    case OP_POW: return TG_SM_POW(a, b);
    case OP_MAXIMUM: return TG_SM_MAXIMUM(a, b);
    case OP_MINIMUM: return TG_SM_MINIMUM(a, b);
    case OP_ATAN2: return TG_SM_ATAN2(a, b);
    case OP_FMOD: return TG_SM_FMOD(a, b);
    case OP_REMAINDER: return TG_SM_REMAINDER(a, b);
    default: return a;
  }
}

template <typename T>
__device__ inline bool bool_op(int op, T a, T b) {
  switch (op) {
    case OP_EQ: return TG_SM_EQ(a, b);
    case OP_NE: return TG_SM_NE(a, b);
    case OP_LT: return TG_SM_LT(a, b);
    case OP_LE: return TG_SM_LE(a, b);
    case OP_GT: return TG_SM_GT(a, b);
    case OP_GE: return TG_SM_GE(a, b);
    case OP_LOGICAL_AND: return TG_SM_LOGICAL_AND(a, b);
    case OP_LOGICAL_OR: return TG_SM_LOGICAL_OR(a, b);
    case OP_LOGICAL_XOR: return TG_SM_LOGICAL_XOR(a, b);
    default: return false;
  }
}

bool is_bool_op(int op) { return op >= OP_EQ && op <= OP_GE ? true : op >= OP_LOGICAL_AND && op <= OP_LOGICAL_XOR; }

template <typename T>
__global__ void arith_k(int op, T *out, const T *a, const T *b, tgcu_geom g, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t off[3];
    offsets<3>(g, i, off);
    out[off[0]] = arith_op<T>(op, a[off[1]], b[off[2]]);
  }
}

template <typename T>
__global__ void bool_k(int op, bool *out, const T *a, const T *b, tgcu_geom g, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t off[3];
    offsets<3>(g, i, off);
    out[off[0]] = bool_op<T>(op, a[off[1]], b[off[2]]);
  }
}

int launched(tgcu_state *st, const char *what) { return tgcu_check(st, cudaGetLastError(), what); }

template <typename TO>
int copy_from(tgcu_state *st, TO *out, const void *in, int idt, const tgcu_geom *g, int64_t n) {
  unsigned nb = blocks_for(n);
  switch (idt) {
    case TGCU_F32: copy_k<TO, float><<<nb, kThreads, 0, st->stream>>>(out, (const float *)in, *g, n); break;
    case TGCU_F64: copy_k<TO, double><<<nb, kThreads, 0, st->stream>>>(out, (const double *)in, *g, n); break;
    case TGCU_I64: copy_k<TO, int64_t><<<nb, kThreads, 0, st->stream>>>(out, (const int64_t *)in, *g, n); break;
    default: copy_k<TO, bool><<<nb, kThreads, 0, st->stream>>>(out, (const bool *)in, *g, n); break;
  }
  return launched(st, "copy");
}

}  // namespace

extern "C" int tgcu_memcpy(tgcu_state *st, void *dst, const void *src, size_t nbytes, int kind) {
  cudaMemcpyKind k = kind == 0 ? cudaMemcpyHostToDevice : kind == 1 ? cudaMemcpyDeviceToHost : cudaMemcpyDeviceToDevice;
  if (tgcu_check(st, cudaMemcpyAsync(dst, src, nbytes, k, st->stream), "cudaMemcpyAsync") < 0) return -1;
  return tgcu_check(st, cudaStreamSynchronize(st->stream), "cudaMemcpyAsync");
}

extern "C" int tgcu_copy(tgcu_state *st, void *out, int odt, const void *in, int idt, const tgcu_geom *g) {
  int64_t n = geom_numel(g);
  if (n == 0) return 0;
  switch (odt) {
    case TGCU_F32: return copy_from(st, (float *)out, in, idt, g, n);
    case TGCU_F64: return copy_from(st, (double *)out, in, idt, g, n);
    case TGCU_I64: return copy_from(st, (int64_t *)out, in, idt, g, n);
    default: return copy_from(st, (bool *)out, in, idt, g, n);
  }
}

extern "C" int tgcu_fill(tgcu_state *st, void *out, int dt, double v, const tgcu_geom *g) {
  int64_t n = geom_numel(g);
  if (n == 0) return 0;
  unsigned nb = blocks_for(n);
  switch (dt) {
    case TGCU_F32: fill_k<float><<<nb, kThreads, 0, st->stream>>>((float *)out, (float)v, *g, n); break;
    case TGCU_F64: fill_k<double><<<nb, kThreads, 0, st->stream>>>((double *)out, v, *g, n); break;
    case TGCU_I64: fill_k<int64_t><<<nb, kThreads, 0, st->stream>>>((int64_t *)out, (int64_t)v, *g, n); break;
    default: fill_k<bool><<<nb, kThreads, 0, st->stream>>>((bool *)out, v != 0, *g, n); break;
  }
  return launched(st, "fill");
}

extern "C" int tgcu_unary_supported(int op, int dt) { return (dt == TGCU_F32 || dt == TGCU_F64) && op >= 0 && op <= OP_CLAMP; }
extern "C" int tgcu_binary_supported(int op, int dt) {
  return (dt == TGCU_F32 || dt == TGCU_F64) && op >= OP_ADD && op < OP_COUNT;
}

extern "C" int tgcu_unary(tgcu_state *st, int op, int dt, void *out, const void *x, const double *params,
                          const tgcu_geom *g) {
  if (!tgcu_unary_supported(op, dt)) return 1;
  int64_t n = geom_numel(g);
  if (n == 0) return 0;
  params4 p = {{0, 0, 0, 0}};
  if (params)
    for (int i = 0; i < 4; i++) p.p[i] = params[i];
  unsigned nb = blocks_for(n);
  if (dt == TGCU_F32) unary_k<float><<<nb, kThreads, 0, st->stream>>>(op, (float *)out, (const float *)x, p, *g, n);
  else unary_k<double><<<nb, kThreads, 0, st->stream>>>(op, (double *)out, (const double *)x, p, *g, n);
  return launched(st, "unary");
}

extern "C" int tgcu_binary(tgcu_state *st, int op, int dt, void *out, const void *a, const void *b, const tgcu_geom *g) {
  if (!tgcu_binary_supported(op, dt)) return 1;
  int64_t n = geom_numel(g);
  if (n == 0) return 0;
  unsigned nb = blocks_for(n);
  if (is_bool_op(op)) {
    if (dt == TGCU_F32) bool_k<float><<<nb, kThreads, 0, st->stream>>>(op, (bool *)out, (const float *)a, (const float *)b, *g, n);
    else bool_k<double><<<nb, kThreads, 0, st->stream>>>(op, (bool *)out, (const double *)a, (const double *)b, *g, n);
  } else {
    if (dt == TGCU_F32) arith_k<float><<<nb, kThreads, 0, st->stream>>>(op, (float *)out, (const float *)a, (const float *)b, *g, n);
    else arith_k<double><<<nb, kThreads, 0, st->stream>>>(op, (double *)out, (const double *)a, (const double *)b, *g, n);
  }
  return launched(st, "binary");
}
