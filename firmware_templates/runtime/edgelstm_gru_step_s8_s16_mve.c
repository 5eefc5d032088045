/*
 * edgelstm_gru_step_s8_s16_mve.c - the GRU step on EDGELSTM_PATH_MVE (Cortex-M55 / M85 with
 * Helium; edgelstm_config.h). Compiled whole on that path, empty on the others. The step's
 * formulas and order of work: edgelstm_gru_step_s8_s16.c (the portable C); the values are the
 * same bytes on every path.
 *
 * Row products 4 rows at a time on the rows encoding (edgelstm_dot_s8_mve.h: VMLADAVA over 16
 * int8 per instruction, the 4 rows sharing each input vector, tail-predicated loop), their
 * per-row requantisation on 4 lanes (VQRDMULH / VRSHL with a multiplier and a shift per lane,
 * edgelstm_fixedpoint_mve.h), and every element-wise stage (gates, reset product, candidate,
 * state update, h8) 4 units per vector, predicated by VCTP.32 at the end of a row range. The
 * inputs stay int8: x and h8 are read where they are (h8 is only written after its last
 * product, or, with reset_after = 0, replaced by (r h)8 before the candidate's product).
 */
#include "edgelstm_gru_step_s8_s16.h"

#if defined(EDGELSTM_PATH_MVE)
#include "edgelstm_dot_s8_mve.h"
#include "edgelstm_fixedpoint_mve.h"

/* sat8 lane by lane, as the low bytes of the 32-bit lanes (what VSTRB.32 stores). */
static inline int32x4_t edgelstm_sat8_lo_mve(int32x4_t a)
{
    return vreinterpretq_s32_s8(vqmovnbq_s16(vuninitializedq_s8(), edgelstm_sat16_lo_mve(a)));
}

/* sat16 lane by lane, in the low halves of the 32-bit lanes (what VSTRH.32 stores). */
static inline int32x4_t edgelstm_sat16_st_mve(int32x4_t a)
{
    return vreinterpretq_s32_s16(edgelstm_sat16_lo_mve(a));
}

/* Each element-wise stage below is a body for the 4 rows or units from r (predicated by m
 * when tail) and a loop: the full groups of 4, then the last one (edgelstm_ld16_mve). */
#define EDGELSTM_MVE_RANGE(n, BODY)                                         \
    do {                                                                    \
        int32_t r_;                                                         \
        for (r_ = 0; r_ + 4 <= (n); r_ += 4) {                              \
            BODY(r_, vctp32q(4u), 0);                                       \
        }                                                                   \
        if (r_ < (n)) {                                                     \
            BODY(r_, vctp32q((uint32_t)((n) - r_)), 1);                     \
        }                                                                   \
    } while (0)

/* Rows [r, r + 4) of a gate product, sat16(MBQM(dot + bias, m, s)) in Q3.12, into out: the
 * weights w are groups of 4 rows of n int8 (zero rows pad the last group; export-c gru_params,
 * rows encoding), v the n int8 inputs, bias NULL for none. The 4 dot products (from 0), moved
 * into one vector, the biases added (wrapping, as wrap_int32(acc + bias)), the requantisation
 * with a multiplier and a shift per lane. */
static inline void edgelstm_gru_group_mve(const int8_t *w, const int8_t *v, int32_t n, const int32_t *bias,
                                          const int32_t *mult, const int8_t *shift, int16_t *out, int32_t r,
                                          mve_pred16_t m, int32_t tail)
{
    int32_t acc[4] = {0, 0, 0, 0};
    int32x4_t y;
    edgelstm_rows4_dot_mve(w + r * n, v, n, acc);
    y = vsetq_lane_s32(acc[3], vsetq_lane_s32(acc[2], vsetq_lane_s32(acc[1], vdupq_n_s32(acc[0]), 1), 2), 3);
    if (bias != 0) {
        y = vaddq_s32(y, edgelstm_ld32_mve(bias + r, m, tail));
    }
    y = edgelstm_mbqm_rows_mve(y, edgelstm_ld32_mve(mult + r, m, tail), edgelstm_ld8_mve(shift + r, m, tail));
    edgelstm_st16_mve(out + r, edgelstm_sat16_st_mve(y), m, tail);
}

/* Rows [0, rows) of a gate product (edgelstm_gru_group_mve). */
EDGELSTM_MVE_NOINLINE static void edgelstm_gru_rows_mve(const int8_t *w, const int8_t *v, int32_t n, int32_t rows,
                                                       const int32_t *bias, const int32_t *mult,
                                                       const int8_t *shift, int16_t *out)
{
#define EDGELSTM_GRU_GROUP(r, m, tail) edgelstm_gru_group_mve(w, v, n, bias, mult, shift, out, r, m, tail)
    EDGELSTM_MVE_RANGE(rows, EDGELSTM_GRU_GROUP);
#undef EDGELSTM_GRU_GROUP
}

/* z, r = sigmoid(sat16(ax + ah)) for the 2U rows, in place in ax. */
EDGELSTM_MVE_NOINLINE static void edgelstm_gru_gates_mve(int16_t *ax, const int16_t *ah, int32_t rows)
{
#define EDGELSTM_GRU_GATES(u, m, tail)                                                                    \
    edgelstm_st16_mve(ax + (u),                                                                           \
                      edgelstm_sigmoid_mve(edgelstm_sat16_add16_mve(edgelstm_ld16_mve(ax + (u), m, tail), \
                                                                    edgelstm_ld16_mve(ah + (u), m, tail))), \
                      m, tail)
    EDGELSTM_MVE_RANGE(rows, EDGELSTM_GRU_GATES);
#undef EDGELSTM_GRU_GATES
}

/* reset_after = 1: n_pre = sat16(ax_h + clamp(MBQM(r * ah_h) + offset)) (MulElementwise; the
 * offset added saturating clamps to the same bound as the simulator's int64 sum). */
static inline void edgelstm_gru_reset_group_mve(int16_t *ax_h, const int16_t *r_g, const int16_t *ah,
                                                const edgelstm_mul_params_t *rm, int32_t u, mve_pred16_t m,
                                                int32_t tail)
{
    int32x4_t rh = vmulq_s32(edgelstm_ld16_mve(r_g + u, m, tail), edgelstm_ld16_mve(ah + u, m, tail));
    rh = edgelstm_mbqm_rows_mve(rh, vdupq_n_s32(rm->multiplier), vdupq_n_s32(rm->shift));
    rh = vqaddq_n_s32(rh, rm->offset);
    rh = vmaxq_s32(vminq_s32(rh, vdupq_n_s32(rm->act_max)), vdupq_n_s32(rm->act_min));
    rh = vaddq_s32(edgelstm_ld16_mve(ax_h + u, m, tail), rh); /* wraps, as the C */
    edgelstm_st16_mve(ax_h + u, edgelstm_sat16_st_mve(rh), m, tail);
}

EDGELSTM_MVE_NOINLINE static void edgelstm_gru_reset_product_mve(int16_t *ax_h, const int16_t *r_g, const int16_t *ah,
                                                                const edgelstm_mul_params_t *rm, int32_t n_units)
{
#define EDGELSTM_GRU_RESET(u, m, tail) edgelstm_gru_reset_group_mve(ax_h, r_g, ah, rm, u, m, tail)
    EDGELSTM_MVE_RANGE(n_units, EDGELSTM_GRU_RESET);
#undef EDGELSTM_GRU_RESET
}

/* reset_after = 0: h8 = (r h)8 = sat8(RDBP(r * h16, 30 - k)), the candidate's input. */
EDGELSTM_MVE_NOINLINE static void edgelstm_gru_rh8_mve(int8_t *h8, const int16_t *r_g, const int16_t *h16,
                                                      int32_t e, int32_t n_units)
{
    const int32_t fix = (e > 0) ? -31 : -32;
#define EDGELSTM_GRU_RH8(u, m, tail)                                                                           \
    edgelstm_st8_mve(h8 + (u),                                                                                 \
                     edgelstm_sat8_lo_mve(edgelstm_rdbp_fix_mve(vmulq_s32(edgelstm_ld16_mve(r_g + (u), m, tail),  \
                                                                      edgelstm_ld16_mve(h16 + (u), m, tail)), \
                                                            e, fix)),                                          \
                     m, tail)
    EDGELSTM_MVE_RANGE(n_units, EDGELSTM_GRU_RH8);
#undef EDGELSTM_GRU_RH8
}

/* n_pre += sat16 of the candidate's recurrent side (reset_after = 0): sat16(ax_h + ah). */
EDGELSTM_MVE_NOINLINE static void edgelstm_gru_add_mve(int16_t *ax_h, const int16_t *ah, int32_t n_units)
{
#define EDGELSTM_GRU_ADD(u, m, tail)                                                                            \
    edgelstm_st16_mve(ax_h + (u),                                                                               \
                      edgelstm_sat16_add16_mve(edgelstm_ld16_mve(ax_h + (u), m, tail),                          \
                                               edgelstm_ld16_mve(ah + (u), m, tail)),                           \
                      m, tail)
    EDGELSTM_MVE_RANGE(n_units, EDGELSTM_GRU_ADD);
#undef EDGELSTM_GRU_ADD
}

/* n = tanh(n_pre); h16 = sat16(n + RDBP(z (h16 - n), 15)); h8 = sat8(RDBP(h16, 15 - k))
 * (edgelstm_gru_update_c on 4 units; RDBP by 15 is VRSHL after adding the sign, -1 or 0). */
static inline void edgelstm_gru_update_group_mve(const int16_t *z_g, const int16_t *n_pre, int16_t *h16, int8_t *h8,
                                                 int32_t out_shift, int32_t fix, int32_t u, mve_pred16_t m,
                                                 int32_t tail)
{
    const int32x4_t n = edgelstm_tanh_mve(vmulq_n_s32(edgelstm_ld16_mve(n_pre + u, m, tail), 3)); /* Tanh (0, 0) */
    const int32x4_t d = vmulq_s32(edgelstm_ld16_mve(z_g + u, m, tail),
                                  vsubq_s32(edgelstm_ld16_mve(h16 + u, m, tail), n));
    const int32x4_t zd = vrshlq_n_s32(vaddq_s32(d, vshrq_n_s32(d, 31)), -15);
    const int16x8_t s16 = edgelstm_sat16_lo_mve(vaddq_s32(n, zd));
    edgelstm_st16_mve(h16 + u, vreinterpretq_s32_s16(s16), m, tail);
    edgelstm_st8_mve(h8 + u, edgelstm_sat8_lo_mve(edgelstm_rdbp_fix_mve(vmovlbq_s16(s16), out_shift, fix)), m, tail);
}

EDGELSTM_MVE_NOINLINE static void edgelstm_gru_update_mve(const int16_t *z_g, const int16_t *n_pre, int16_t *h16,
                                                         int8_t *h8, int32_t out_shift, int32_t n_units)
{
    const int32_t fix = (out_shift > 0) ? -31 : -32;
#define EDGELSTM_GRU_UPDATE(u, m, tail) edgelstm_gru_update_group_mve(z_g, n_pre, h16, h8, out_shift, fix, u, m, tail)
    EDGELSTM_MVE_RANGE(n_units, EDGELSTM_GRU_UPDATE);
#undef EDGELSTM_GRU_UPDATE
}

void edgelstm_gru_step_path_s8_s16(const edgelstm_gru_params_s8_s16_t *p, const edgelstm_gru_prepared_t *q,
                                   const int8_t *x, int8_t *h8, int16_t *h16)
{
    const int32_t n_units = p->units;
    int16_t *ax = q->ax;
    int16_t *ah = q->ah;
    const int8_t *wh_n = (const int8_t *)(const void *)q->wh_n;
    const int32_t *bias_h = p->bias_h; /* NULL: no recurrent biases */

    /* 1. The input side of all 3U rows. */
    edgelstm_gru_rows_mve(p->weights_x, x, p->input_size, 3 * n_units, p->bias_x, p->multiplier_x, p->shift_x, ax);
    /* 2. Update and reset gates: the recurrent side of rows 0 .. 2U-1 on the old h8. */
    edgelstm_gru_rows_mve(p->weights_h, h8, n_units, 2 * n_units, bias_h, p->multiplier_h, p->shift_h, ah);
    edgelstm_gru_gates_mve(ax, ah, 2 * n_units);
    /* 3. The candidate's pre-activation in ax[2U .. 3U-1]. */
    if (p->reset_after) {
        edgelstm_gru_rows_mve(wh_n, h8, n_units, n_units, bias_h ? bias_h + 2 * n_units : 0,
                              p->multiplier_h + 2 * n_units, p->shift_h + 2 * n_units, ah);
        edgelstm_gru_reset_product_mve(ax + 2 * n_units, ax + n_units, ah, &p->reset_mul, n_units);
    } else {
        /* h8 holds (r h)8 from here on: the old h8 is not read again (the update uses h16) */
        edgelstm_gru_rh8_mve(h8, ax + n_units, h16, q->rh_shift, n_units);
        edgelstm_gru_rows_mve(wh_n, h8, n_units, n_units, 0, p->multiplier_h + 2 * n_units, p->shift_h + 2 * n_units,
                              ah);
        edgelstm_gru_add_mve(ax + 2 * n_units, ah, n_units);
    }
    /* 4. Candidate, state update, output. */
    edgelstm_gru_update_mve(ax, ax + 2 * n_units, h16, h8, q->out_shift, n_units);
}
#endif /* EDGELSTM_PATH_MVE */
