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

/* Rows [0, rows) of a gate product, sat16(MBQM(dot + bias, m, s)) in Q3.12, into out: the
 * weights w are groups of 4 rows of n int8 (zero rows pad the last group; export-c gru_params,
 * rows encoding), v the n int8 inputs. bias may be NULL (0). Per group: the 4 dot products
 * from the biases, then their requantisation as one vector (multiplier and shift per lane),
 * predicated past the last row. */
EDGELSTM_MVE_NOINLINE static void edgelstm_gru_rows_mve(const int8_t *w, const int8_t *v, int32_t n, int32_t rows,
                                                       const int32_t *bias, const int32_t *mult,
                                                       const int8_t *shift, int16_t *out)
{
    int32_t r;
    for (r = 0; r < rows; r += 4) {
        const mve_pred16_t p = vctp32q((uint32_t)(rows - r));
        int32_t acc[4];
        vstrwq_s32(acc, (bias != 0) ? vldrwq_z_s32(bias + r, p) : vdupq_n_s32(0));
        edgelstm_rows4_dot_mve(w, v, n, acc);
        w += 4 * n;
        {
            const int32x4_t y = edgelstm_mbqm_rows_mve(vldrwq_s32(acc), vldrwq_z_s32(mult + r, p),
                                                       vldrbq_z_s32(shift + r, p));
            vstrhq_p_s32(out + r, vreinterpretq_s32_s16(edgelstm_sat16_lo_mve(y)), p);
        }
    }
}

/* sat8 lane by lane, as the low bytes of the 32-bit lanes (what VSTRB.32 stores). */
static inline int32x4_t edgelstm_sat8_lo_mve(int32x4_t a)
{
    return vreinterpretq_s32_s8(vqmovnbq_s16(vdupq_n_s8(0), edgelstm_sat16_lo_mve(a)));
}

/* z, r = sigmoid(sat16(ax + ah)) for the 2U rows, in place in ax. */
EDGELSTM_MVE_NOINLINE static void edgelstm_gru_gates_mve(int16_t *ax, const int16_t *ah, int32_t rows)
{
    int32_t u;
    for (u = 0; u < rows; u += 4) {
        const mve_pred16_t p = vctp32q((uint32_t)(rows - u));
        const int32x4_t pre = edgelstm_sat16_add_mve(vldrhq_z_s32(ax + u, p), vldrhq_z_s32(ah + u, p));
        vstrhq_p_s32(ax + u, edgelstm_sigmoid_mve(pre), p);
    }
}

/* reset_after = 1: n_pre = sat16(ax_h + clamp(MBQM(r * ah_h) + offset)) (MulElementwise; the
 * offset added saturating clamps to the same bound as the simulator's int64 sum). */
EDGELSTM_MVE_NOINLINE static void edgelstm_gru_reset_product_mve(int16_t *ax_h, const int16_t *r_g, const int16_t *ah,
                                                                const edgelstm_mul_params_t *rm, int32_t n_units)
{
    const int32x4_t m = vdupq_n_s32(rm->multiplier);
    const int32x4_t s = vdupq_n_s32(rm->shift);
    int32_t u;
    for (u = 0; u < n_units; u += 4) {
        const mve_pred16_t p = vctp32q((uint32_t)(n_units - u));
        int32x4_t rh = edgelstm_mbqm_rows_mve(vmulq_s32(vldrhq_z_s32(r_g + u, p), vldrhq_z_s32(ah + u, p)), m, s);
        rh = vqaddq_n_s32(rh, rm->offset);
        rh = vmaxq_s32(vminq_s32(rh, vdupq_n_s32(rm->act_max)), vdupq_n_s32(rm->act_min));
        rh = vaddq_s32(vldrhq_z_s32(ax_h + u, p), rh);
        vstrhq_p_s32(ax_h + u, vreinterpretq_s32_s16(edgelstm_sat16_lo_mve(rh)), p);
    }
}

/* reset_after = 0: h8 = (r h)8 = sat8(RDBP(r * h16, 30 - k)), the candidate's input. */
EDGELSTM_MVE_NOINLINE static void edgelstm_gru_rh8_mve(int8_t *h8, const int16_t *r_g, const int16_t *h16,
                                                      int32_t e, int32_t n_units)
{
    int32_t u;
    for (u = 0; u < n_units; u += 4) {
        const mve_pred16_t p = vctp32q((uint32_t)(n_units - u));
        const int32x4_t v = vmulq_s32(vldrhq_z_s32(r_g + u, p), vldrhq_z_s32(h16 + u, p));
        vstrbq_p_s32(h8 + u, edgelstm_sat8_lo_mve(edgelstm_rdbp_mve(v, e, (e > 0) ? -1 : 0)), p);
    }
}

/* n_pre += sat16 of the candidate's recurrent side (reset_after = 0): sat16(ax_h + ah). */
EDGELSTM_MVE_NOINLINE static void edgelstm_gru_add_mve(int16_t *ax_h, const int16_t *ah, int32_t n_units)
{
    int32_t u;
    for (u = 0; u < n_units; u += 4) {
        const mve_pred16_t p = vctp32q((uint32_t)(n_units - u));
        const int32x4_t v = vaddq_s32(vldrhq_z_s32(ax_h + u, p), vldrhq_z_s32(ah + u, p));
        vstrhq_p_s32(ax_h + u, vreinterpretq_s32_s16(edgelstm_sat16_lo_mve(v)), p);
    }
}

/* n = tanh(n_pre); h16 = sat16(n + RDBP(z (h16 - n), 15)); h8 = sat8(RDBP(h16, 15 - k))
 * (edgelstm_gru_update_c on 4 units). */
EDGELSTM_MVE_NOINLINE static void edgelstm_gru_update_mve(const int16_t *z_g, const int16_t *n_pre, int16_t *h16,
                                                         int8_t *h8, int32_t out_shift, int32_t n_units)
{
    const int32_t fmask = (out_shift > 0) ? -1 : 0;
    int32_t u;
    for (u = 0; u < n_units; u += 4) {
        const mve_pred16_t p = vctp32q((uint32_t)(n_units - u));
        const int32x4_t n = edgelstm_tanh_mve(vmulq_n_s32(vldrhq_z_s32(n_pre + u, p), 3)); /* Tanh (0, 0) */
        const int32x4_t d = vmulq_s32(vldrhq_z_s32(z_g + u, p), vsubq_s32(vldrhq_z_s32(h16 + u, p), n));
        const int16x8_t s16 = edgelstm_sat16_lo_mve(vaddq_s32(n, edgelstm_rdbp_mve(d, 15, -1)));
        vstrhq_p_s32(h16 + u, vreinterpretq_s32_s16(s16), p);
        vstrbq_p_s32(h8 + u, edgelstm_sat8_lo_mve(edgelstm_rdbp_mve(vmovlbq_s16(s16), out_shift, fmask)), p);
    }
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
        edgelstm_gru_rh8_mve(h8, ax + n_units, h16, q->rh_shift, n_units);
        edgelstm_gru_rows_mve(wh_n, h8, n_units, n_units, 0, p->multiplier_h + 2 * n_units, p->shift_h + 2 * n_units,
                              ah);
        edgelstm_gru_add_mve(ax + 2 * n_units, ah, n_units);
    }
    /* 4. Candidate, state update, output. */
    edgelstm_gru_update_mve(ax, ax + 2 * n_units, h16, h8, q->out_shift, n_units);
}
#endif /* EDGELSTM_PATH_MVE */
