/* safetensors.c (binding): reading and writing the safetensors format
 * (https://github.com/huggingface/safetensors), the untrusted part in C.
 *
 * File layout: u64 little-endian N, then N bytes of JSON header (UTF-8, padded
 * with spaces), then the data buffer. The header maps tensor names to
 * {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]} (offsets
 * relative to the data buffer) and may hold "__metadata__": {string: string}.
 *
 * tg._st_load(file) reads a whole file from a Lua file handle and checks
 * everything before it reads a byte of data: the header length against the
 * file size and the 100 MB limit safetensors has, the JSON (strictly: UTF-8,
 * escapes, no duplicate keys, nothing after the object but spaces), each
 * entry (known dtype, non-negative dims, at most TG_MAX_DIMS of them,
 * numel * itemsize == end - begin without overflow), and the offsets (sorted
 * by begin they must tile the data buffer exactly: no overlap, no gap, no
 * byte past the end, none left over). Data is read with fread straight into
 * the tensors (dtypes tgrad lacks go through one temporary buffer).
 * tg._st_write(file, t) appends one tensor's bytes (a contiguous copy only
 * when t is not contiguous). Buffers live in userdata, so a Lua error leaks nothing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../backend/backend.h"
#include "binding.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c assumes a little-endian host"
#endif

#define ST_MAX_HEADER 100000000ULL /* safetensors' MAX_HEADER_SIZE */
#define ST_MAX_OFFSET ((uint64_t)1 << 62)

/* safetensors dtypes; tgrad's dtype they load as, or -1 (refused) */
typedef struct st_dtype { const char *name; int size; int tg; } st_dtype;
static const st_dtype st_dtypes[] = {
    {"F32", 4, TG_FLOAT32}, {"F64", 8, TG_FLOAT64}, {"I64", 8, TG_INT64}, {"BOOL", 1, TG_BOOL},
    {"F16", 2, TG_FLOAT32}, {"BF16", 2, TG_FLOAT32}, {"I32", 4, TG_INT64}, {"I16", 2, TG_INT64},
    {"I8", 1, TG_INT64},    {"U8", 1, TG_INT64},     {"U16", 2, TG_INT64}, {"U32", 4, TG_INT64},
    {"U64", 8, -1},         {"C64", 8, -1},          {"F8_E5M2", 1, -1},   {"F8_E4M3", 1, -1},
    {"F8_E8M0", 1, -1},     {"F4", 1, -1},           {"F6_E2M3", 1, -1},   {"F6_E3M2", 1, -1},
    {NULL, 0, 0}};

typedef struct st_entry {
  int name_ref;  /* index of the name in the names table */
  int dtype;     /* index into st_dtypes */
  int ndim;
  int64_t shape[TG_MAX_DIMS];
  uint64_t begin, end;
} st_entry;

typedef struct st_parser {
  lua_State *L;
  const unsigned char *s, *end;
  const unsigned char *p;
  const char *fname;
} st_parser;

static int st_fail(st_parser *P, const char *fmt, const char *arg) {
  lua_State *L = P->L;
  lua_pushfstring(L, "tgrad.load: %s: invalid safetensors header: ", P->fname);
  lua_pushfstring(L, fmt, arg ? arg : "");
  lua_pushfstring(L, " (at header byte %d)", (int)(P->p - P->s));
  lua_concat(L, 3);
  return lua_error(L);
}

static void ws(st_parser *P) {
  while (P->p < P->end && (*P->p == ' ' || *P->p == '\t' || *P->p == '\n' || *P->p == '\r')) P->p++;
}

static void expect(st_parser *P, char ch) {
  ws(P);
  if (P->p >= P->end || *P->p != (unsigned char)ch) {
    char want[2] = {ch, 0};
    st_fail(P, P->p >= P->end ? "unexpected end, expected '%s'" : "expected '%s'", want);
  }
  P->p++;
}

static bool peek(st_parser *P, char ch) {
  ws(P);
  return P->p < P->end && *P->p == (unsigned char)ch;
}

static int hexval(int ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

static unsigned read_u4(st_parser *P) {
  if (P->end - P->p < 4) st_fail(P, "truncated \\u escape", NULL);
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    int h = hexval(P->p[i]);
    if (h < 0) st_fail(P, "bad \\u escape", NULL);
    v = v * 16 + (unsigned)h;
  }
  P->p += 4;
  return v;
}

/* a JSON string, pushed onto the Lua stack */
static void read_string(st_parser *P) {
  lua_State *L = P->L;
  expect(P, '"');
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (;;) {
    if (P->p >= P->end) st_fail(P, "unterminated string", NULL);
    unsigned char ch = *P->p++;
    if (ch == '"') break;
    if (ch < 0x20) st_fail(P, "control character in string", NULL);
    if (ch != '\\') {
      luaL_addchar(&b, (char)ch);
      continue;
    }
    if (P->p >= P->end) st_fail(P, "unterminated string", NULL);
    ch = *P->p++;
    switch (ch) {
      case '"': case '\\': case '/': luaL_addchar(&b, (char)ch); break;
      case 'b': luaL_addchar(&b, '\b'); break;
      case 'f': luaL_addchar(&b, '\f'); break;
      case 'n': luaL_addchar(&b, '\n'); break;
      case 'r': luaL_addchar(&b, '\r'); break;
      case 't': luaL_addchar(&b, '\t'); break;
      case 'u': {
        unsigned cp = read_u4(P);
        if (cp >= 0xD800 && cp < 0xDC00) {
          if (P->end - P->p < 6 || P->p[0] != '\\' || P->p[1] != 'u') st_fail(P, "lone surrogate in \\u escape", NULL);
          P->p += 2;
          unsigned lo = read_u4(P);
          if (lo < 0xDC00 || lo >= 0xE000) st_fail(P, "lone surrogate in \\u escape", NULL);
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp < 0xE000) {
          st_fail(P, "lone surrogate in \\u escape", NULL);
        }
        char u[8];
        lua_pushfstring(L, "%U", (long)cp); /* UTF-8 */
        size_t n;
        const char *s = lua_tolstring(L, -1, &n);
        memcpy(u, s, n);
        lua_pop(L, 1);
        luaL_addlstring(&b, u, n);
        break;
      }
      default: st_fail(P, "bad escape in string", NULL);
    }
  }
  luaL_pushresult(&b);
}

/* a non-negative JSON integer (no sign, fraction or exponent) */
static uint64_t read_uint(st_parser *P, const char *what) {
  ws(P);
  if (P->p < P->end && *P->p == '-') st_fail(P, "negative value in %s", what);
  if (P->p >= P->end || *P->p < '0' || *P->p > '9') st_fail(P, "expected a non-negative integer in %s", what);
  uint64_t v = 0;
  const unsigned char *start = P->p;
  while (P->p < P->end && *P->p >= '0' && *P->p <= '9') {
    if (v > (ST_MAX_OFFSET - 9) / 10) st_fail(P, "integer too large in %s", what);
    v = v * 10 + (uint64_t)(*P->p++ - '0');
  }
  if (*start == '0' && P->p - start > 1) st_fail(P, "leading zero in %s", what);
  if (P->p < P->end && (*P->p == '.' || *P->p == 'e' || *P->p == 'E')) st_fail(P, "expected an integer in %s", what);
  return v;
}

/* {"dtype": ..., "shape": [...], "data_offsets": [b, e]}; the name is at stack top */
static void read_entry(st_parser *P, st_entry *e) {
  lua_State *L = P->L;
  const char *name = lua_tostring(L, -1);
  bool have_dtype = false, have_shape = false, have_offsets = false;
  expect(P, '{');
  if (!peek(P, '}')) {
    for (;;) {
      read_string(P);
      const char *k = lua_tostring(L, -1);
      expect(P, ':');
      if (!strcmp(k, "dtype")) {
        if (have_dtype) st_fail(P, "duplicate key 'dtype' in tensor '%s'", name);
        have_dtype = true;
        read_string(P);
        const char *d = lua_tostring(L, -1);
        e->dtype = -1;
        for (int i = 0; st_dtypes[i].name; i++)
          if (!strcmp(st_dtypes[i].name, d)) e->dtype = i;
        if (e->dtype < 0) {
          lua_pushfstring(L, "tensor '%s' has unknown dtype '%s'", name, d);
          st_fail(P, "%s", lua_tostring(L, -1));
        }
        lua_pop(L, 1);
      } else if (!strcmp(k, "shape")) {
        if (have_shape) st_fail(P, "duplicate key 'shape' in tensor '%s'", name);
        have_shape = true;
        e->ndim = 0;
        expect(P, '[');
        if (!peek(P, ']')) {
          for (;;) {
            if (e->ndim == TG_MAX_DIMS) st_fail(P, "tensor '%s' has more dimensions than tgrad's limit of 16", name);
            uint64_t v = read_uint(P, "shape");
            e->shape[e->ndim++] = (int64_t)v;
            if (peek(P, ']')) break;
            expect(P, ',');
          }
        }
        expect(P, ']');
      } else if (!strcmp(k, "data_offsets")) {
        if (have_offsets) st_fail(P, "duplicate key 'data_offsets' in tensor '%s'", name);
        have_offsets = true;
        expect(P, '[');
        e->begin = read_uint(P, "data_offsets");
        expect(P, ',');
        e->end = read_uint(P, "data_offsets");
        if (!peek(P, ']')) st_fail(P, "data_offsets of tensor '%s' must hold exactly 2 integers", name);
        expect(P, ']');
      } else {
        lua_pushfstring(L, "unexpected key '%s' in tensor '%s'", k, name);
        st_fail(P, "%s", lua_tostring(L, -1));
      }
      lua_pop(L, 1); /* key */
      if (peek(P, '}')) break;
      expect(P, ',');
    }
  }
  expect(P, '}');
  if (!have_dtype) st_fail(P, "tensor '%s' has no dtype", name);
  if (!have_shape) st_fail(P, "tensor '%s' has no shape", name);
  if (!have_offsets) st_fail(P, "tensor '%s' has no data_offsets", name);
}

/* "__metadata__": {string: string}, into a new table at the stack top */
static void read_metadata(st_parser *P) {
  lua_State *L = P->L;
  lua_newtable(L);
  expect(P, '{');
  if (!peek(P, '}')) {
    for (;;) {
      read_string(P); /* [meta, key] */
      expect(P, ':');
      lua_pushvalue(L, -1);
      if (lua_rawget(L, -3) != LUA_TNIL) st_fail(P, "duplicate key '%s' in __metadata__", lua_tostring(L, -2));
      lua_pop(L, 1);
      if (!peek(P, '"')) st_fail(P, "__metadata__ value of '%s' is not a string", lua_tostring(L, -1));
      read_string(P); /* [meta, key, value] */
      lua_rawset(L, -3);
      if (peek(P, '}')) break;
      expect(P, ',');
    }
  }
  expect(P, '}');
}

static bool valid_utf8(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned char ch = s[i];
    if (ch < 0x80) { i++; continue; }
    int len = ch >= 0xF0 ? 4 : ch >= 0xE0 ? 3 : ch >= 0xC2 ? 2 : 0;
    if (!len || ch > 0xF4 || i + (size_t)len > n) return false;
    unsigned cp = ch & (0x3F >> (len - 1));
    for (int k = 1; k < len; k++) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp < 0xE000))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
      return false;
    i += (size_t)len;
  }
  return true;
}

static int cmp_entry(const void *a, const void *b) {
  const st_entry *x = a, *y = b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end) return x->end < y->end ? -1 : 1;
  return x->name_ref - y->name_ref;
}

static FILE *check_file(lua_State *L, int idx) {
  luaL_Stream *p = luaL_checkudata(L, idx, LUA_FILEHANDLE);
  if (!p->closef) luaL_error(L, "attempt to use a closed file");
  return p->f;
}

static void half_to_f32(const uint16_t *src, float *dst, int64_t n, bool bf16) {
  for (int64_t i = 0; i < n; i++) {
    uint32_t h = src[i], bits;
    if (bf16) {
      bits = h << 16;
    } else {
      uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1F, man = h & 0x3FF;
      if (exp == 0x1F) {
        bits = sign | 0x7F800000u | (man << 13);
      } else if (exp) {
        bits = sign | ((exp + 112) << 23) | (man << 13);
      } else if (!man) {
        bits = sign;
      } else { /* subnormal half: normalise */
        int e = -1;
        do { man <<= 1; e++; } while (!(man & 0x400));
        bits = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3FF) << 13);
      }
    }
    memcpy(&dst[i], &bits, 4);
  }
}

static void int_to_i64(const void *src, int64_t *dst, int64_t n, const char *d) {
  for (int64_t i = 0; i < n; i++) {
    if (!strcmp(d, "I32")) { int32_t v; memcpy(&v, (const char *)src + 4 * i, 4); dst[i] = v; }
    else if (!strcmp(d, "I16")) { int16_t v; memcpy(&v, (const char *)src + 2 * i, 2); dst[i] = v; }
    else if (!strcmp(d, "I8")) dst[i] = ((const int8_t *)src)[i];
    else if (!strcmp(d, "U8")) dst[i] = ((const uint8_t *)src)[i];
    else if (!strcmp(d, "U16")) { uint16_t v; memcpy(&v, (const char *)src + 2 * i, 2); dst[i] = v; }
    else { uint32_t v; memcpy(&v, (const char *)src + 4 * i, 4); dst[i] = v; } /* U32 */
  }
}

/* tg._st_load(file, filename) -> tensors {name = t}, names (file order), metadata or nil */
static int st_load(lua_State *L) {
  tg_ctx *c = tgL_ctx(L);
  FILE *f = check_file(L, 1);
  const char *fname = luaL_optstring(L, 2, "file");
  luaL_checkstack(L, 40, "tgrad.load");
  if (fseeko(f, 0, SEEK_END) != 0) return luaL_error(L, "tgrad.load: %s: cannot seek: %s", fname, strerror(errno));
  off_t fsize = ftello(f);
  if (fsize < 0 || fseeko(f, 0, SEEK_SET) != 0) return luaL_error(L, "tgrad.load: %s: cannot seek", fname);
  unsigned char len8[8];
  if (fsize < 8)
    return luaL_error(L, "tgrad.load: %s: not a safetensors file: %I bytes, shorter than the 8-byte header length", fname,
                      (lua_Integer)fsize);
  errno = 0;
  if (fread(len8, 1, 8, f) != 8)
    return luaL_error(L, "tgrad.load: %s: cannot read: %s", fname, errno ? strerror(errno) : "short read");
  uint64_t n = 0;
  for (int i = 7; i >= 0; i--) n = (n << 8) | len8[i];
  if (n > ST_MAX_HEADER)
    return luaL_error(L, "tgrad.load: %s: header length %I is larger than safetensors' limit of 100000000 bytes", fname,
                      (lua_Integer)(n > (uint64_t)LUA_MAXINTEGER ? LUA_MAXINTEGER : (lua_Integer)n));
  if (n > (uint64_t)fsize - 8)
    return luaL_error(L, "tgrad.load: %s: header length %I goes past the end of the file (%I bytes): truncated or not safetensors",
                      fname, (lua_Integer)n, (lua_Integer)fsize);
  if (n < 2) return luaL_error(L, "tgrad.load: %s: header of %I bytes is too small", fname, (lua_Integer)n);
  unsigned char *hdr = lua_newuserdatauv(L, (size_t)n, 0); /* freed by the GC, even on error */
  int hdr_idx = lua_gettop(L);
  if (fread(hdr, 1, (size_t)n, f) != (size_t)n) return luaL_error(L, "tgrad.load: %s: cannot read the header", fname);
  uint64_t data_len = (uint64_t)fsize - 8 - n;
  if (!valid_utf8(hdr, (size_t)n)) return luaL_error(L, "tgrad.load: %s: invalid safetensors header: not UTF-8", fname);

  st_parser P = {L, hdr, hdr + n, hdr, fname};
  lua_newtable(L); /* names, by entry */
  int names = lua_gettop(L);
  lua_newtable(L); /* seen keys */
  int seen = lua_gettop(L);
  lua_pushnil(L); /* metadata */
  int meta = lua_gettop(L);
  size_t cap = 16, count = 0;
  st_entry *ents = lua_newuserdatauv(L, cap * sizeof *ents, 0);
  int ents_idx = lua_gettop(L);

  ws(&P);
  if (P.p >= P.end || *P.p != '{') st_fail(&P, "the header is not a JSON object", NULL);
  expect(&P, '{');
  if (!peek(&P, '}')) {
    for (;;) {
      read_string(&P);
      lua_pushvalue(L, -1);
      if (lua_rawget(L, seen) != LUA_TNIL) st_fail(&P, "duplicate key '%s'", lua_tostring(L, -2));
      lua_pop(L, 1);
      lua_pushvalue(L, -1);
      lua_pushboolean(L, 1);
      lua_rawset(L, seen);
      expect(&P, ':');
      if (!strcmp(lua_tostring(L, -1), "__metadata__")) {
        lua_pop(L, 1);
        read_metadata(&P);
        lua_replace(L, meta);
      } else {
        if (count == cap) {
          if (cap > SIZE_MAX / 2 / sizeof *ents) return luaL_error(L, "tgrad.load: too many tensors");
          st_entry *bigger = lua_newuserdatauv(L, 2 * cap * sizeof *ents, 0);
          memcpy(bigger, ents, cap * sizeof *ents);
          lua_replace(L, ents_idx);
          ents = bigger;
          cap *= 2;
        }
        st_entry *e = &ents[count];
        memset(e, 0, sizeof *e);
        e->name_ref = (int)count + 1;
        read_entry(&P, e);
        lua_rawseti(L, names, (lua_Integer)count + 1);
        count++;
      }
      if (peek(&P, '}')) break;
      expect(&P, ',');
    }
  }
  expect(&P, '}');
  ws(&P);
  if (P.p != P.end) st_fail(&P, "unexpected bytes after the JSON object", NULL);

  /* each entry's size; then the offsets, sorted, must tile [0, data_len) */
  for (size_t i = 0; i < count; i++) {
    st_entry *e = &ents[i];
    lua_rawgeti(L, names, e->name_ref);
    const char *name = lua_tostring(L, -1);
    if (e->end < e->begin)
      return luaL_error(L, "tgrad.load: %s: tensor '%s' has data_offsets [%I, %I] that end before they begin", fname, name,
                        (lua_Integer)e->begin, (lua_Integer)e->end);
    uint64_t bytes = (uint64_t)st_dtypes[e->dtype].size, nz = 1;
    bool over = false;
    for (int d = 0; d < e->ndim; d++) {
      over = over || __builtin_mul_overflow(bytes, (uint64_t)e->shape[d], &bytes);
      if (e->shape[d]) over = over || __builtin_mul_overflow(nz, (uint64_t)e->shape[d], &nz) || nz > ST_MAX_OFFSET;
    }
    if (over || bytes != e->end - e->begin) {
      luaL_Buffer b;
      luaL_buffinit(L, &b);
      for (int d = 0; d < e->ndim; d++) {
        lua_pushfstring(L, d ? ", %I" : "%I", (lua_Integer)e->shape[d]);
        luaL_addvalue(&b);
      }
      luaL_pushresult(&b);
      const char *shape = lua_tostring(L, -1);
      const char *need = over ? "too many" : lua_pushfstring(L, "%I", (lua_Integer)bytes);
      return luaL_error(L, "tgrad.load: %s: tensor '%s' of dtype %s and shape [%s] needs %s bytes, but its data_offsets "
                        "[%I, %I] span %I (shape/offset mismatch)", fname, name, st_dtypes[e->dtype].name, shape, need,
                        (lua_Integer)e->begin, (lua_Integer)e->end, (lua_Integer)(e->end - e->begin));
    }
    lua_pop(L, 1);
  }
  qsort(ents, count, sizeof *ents, cmp_entry);
  uint64_t at = 0;
  for (size_t i = 0; i < count; i++) {
    st_entry *e = &ents[i];
    if (e->begin != at) {
      lua_rawgeti(L, names, e->name_ref);
      return luaL_error(L, "tgrad.load: %s: tensor '%s' has data_offsets [%I, %I], but the previous tensor ends at %I (%s)",
                        fname, lua_tostring(L, -1), (lua_Integer)e->begin, (lua_Integer)e->end, (lua_Integer)at,
                        e->begin < at ? "overlapping offsets" : "offsets not contiguous");
    }
    if (e->end > data_len) {
      lua_rawgeti(L, names, e->name_ref);
      return luaL_error(L, "tgrad.load: %s: tensor '%s' has data_offsets [%I, %I] past the end of the data (%I bytes): "
                        "the file is truncated or corrupt", fname, lua_tostring(L, -1), (lua_Integer)e->begin,
                        (lua_Integer)e->end, (lua_Integer)data_len);
    }
    at = e->end;
  }
  if (at != data_len)
    return luaL_error(L, "tgrad.load: %s: the tensors cover %I bytes of data, but the file holds %I (corrupt offsets)", fname,
                      (lua_Integer)at, (lua_Integer)data_len);

  /* read, in file order */
  lua_newtable(L); /* tensors */
  int out = lua_gettop(L);
  lua_createtable(L, (int)count, 0); /* names in file order */
  int order = lua_gettop(L);
  off_t base = (off_t)(8 + n);
  if (fseeko(f, base, SEEK_SET) != 0) return luaL_error(L, "tgrad.load: %s: cannot seek", fname);
  for (size_t i = 0; i < count; i++) {
    st_entry *e = &ents[i];
    const st_dtype *sd = &st_dtypes[e->dtype];
    lua_rawgeti(L, names, e->name_ref);
    int name_idx = lua_gettop(L);
    if (sd->tg < 0)
      return luaL_error(L, "tgrad.load: %s: tensor '%s' has dtype %s, which tgrad cannot represent (it has float32, "
                        "float64, int64 and bool; F16/BF16 load as float32, I8-I32 and U8-U32 as int64)",
                        fname, lua_tostring(L, -1), sd->name);
    tg_tensor **box = tgL_newbox(L);
    *box = tg_tensor_empty(c, (tg_dtype)sd->tg, e->ndim, e->shape);
    if (!*box) return tgL_raise(L, c);
    size_t nbytes = (size_t)(e->end - e->begin);
    int64_t numel = tg_numel(*box);
    void *dst = tg_data(*box);
    bool direct = (size_t)sd->size == tg_dtype_size((*box)->dtype) && strcmp(sd->name, "U64");
    void *buf = direct ? dst : (nbytes ? lua_newuserdatauv(L, nbytes, 0) : NULL);
    if (nbytes && fread(buf, 1, nbytes, f) != nbytes)
      return luaL_error(L, "tgrad.load: %s: cannot read the data of tensor '%s' (truncated file?)", fname,
                        lua_tostring(L, name_idx));
    if (!direct) {
      if (!strcmp(sd->name, "F16") || !strcmp(sd->name, "BF16"))
        half_to_f32(buf, dst, numel, sd->name[0] == 'B');
      else
        int_to_i64(buf, dst, numel, sd->name);
      if (nbytes) lua_pop(L, 1);
    } else if (sd->tg == TG_BOOL) {
      unsigned char *b = dst;
      for (int64_t k = 0; k < numel; k++) b[k] = b[k] != 0;
    }
    lua_pushvalue(L, name_idx);
    lua_rawseti(L, order, (lua_Integer)i + 1);
    lua_rawset(L, out); /* name -> tensor */
  }
  lua_pushvalue(L, out);
  lua_pushvalue(L, order);
  lua_pushvalue(L, meta);
  (void)hdr_idx;
  return 3;
}

/* tg._st_write(file, t): t's bytes (row-major, little-endian) at the file's position */
static int st_write(lua_State *L) {
  tg_ctx *c = tgL_ctx(L);
  FILE *f = check_file(L, 1);
  tg_tensor *t = tgL_check(L, 2);
  if (c->capture) return tgL_capture_refuse(L, "tg.save()"); /* capture */
  if (tg_backend_of(t) != &tg_cpu_backend) return luaL_error(L, "tgrad.save: the tensor must be on the cpu");
  tg_tensor **box = tgL_newbox(L); /* holds the contiguous copy, if one is made */
  *box = tg_contiguous_raw(c, t);
  if (!*box) return tgL_raise(L, c);
  size_t nbytes = (size_t)tg_numel(*box) * tg_dtype_size(t->dtype);
  if (nbytes && fwrite(tg_data(*box), 1, nbytes, f) != nbytes)
    return luaL_error(L, "tgrad.save: write failed: %s", strerror(errno));
  tg_tensor_unref(*box); /* free a copy now, not at the next collection */
  *box = NULL;
  return 0;
}

void tgL_register_safetensors(lua_State *L, int ctxi, int module) {
  static const luaL_Reg fns[] = {{"_st_load", st_load}, {"_st_write", st_write}, {NULL, NULL}};
  tgL_setfuncs(L, module, ctxi, fns);
}
