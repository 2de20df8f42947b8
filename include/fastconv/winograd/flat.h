/*
 * fastconv/winograd/flat.h - Winograd F(2x2, 3x3) on narrow planes (Plan.flat): the tiles
 * of several tile rows, and of several images, share the vector lanes.  Part of a variant
 * (fastconv/variants.h); no checking is done here.
 *
 * The band driver (winograd/band.h) puts the tiles of one tile row in the lanes: a plane
 * 14 wide has 7 tiles of 2 x 2 and fills 7 of 16 lanes, one 7 wide 4 of 16, and the
 * products then run at that share of the machine.  Here a work item is a run of tile rows
 * counted over the whole batch, (image, tile row) one after the other, and its tiles are
 * numbered t = 0, 1, ... in that order, so 16 lanes hold 16 tiles whatever the row width.
 *
 * The item's patches are gathered into D[c][i][j][t] (row stride tst): patch element (i, j)
 * of tile t, which is padded input row 2*tr + i, column 2*tc + j of its image.  Laid out
 * so, D is a packed band of A = 4 rows of A "phases" with xoff[j] = j * tst, and the band
 * driver runs on it unchanged as one tile row of T tiles (Rt = 1): its input transform reads
 * a vector of 16 tiles' element (i, j) at D + i*A*tst + j*tst + t0.  Its output goes to a
 * strip S[oc][y][2*t + x] of 2 rows, from which each tile row's two output rows are copied
 * to the image.  Gathering costs, per padded row, two vector loads, four shuffles and eight
 * stores (each padded row serves two tile rows); a tile row's store runs past its own tiles
 * into the slots the next tile row then writes, and past the last into slack.
 */
#ifndef FASTCONV_WINOGRAD_FLAT_H
#define FASTCONV_WINOGRAD_FLAT_H

/* Gather the patches of tile rows [0, ntr) of one image, ntc tiles each (ntc < VL), from
 * band[C][2*ntr + 2][Wq] (its padded rows from the first tile row's first, the padded
 * columns from 0, Wq >= 2*VL) into D[c*16*tst + (i*4 + j)*tst + t0 + tr*ntc + tc]; writes
 * up to VL - ntc slots past the last tile. */
FC_INLINE void fc_wino_flat_gather(const FC_T *band, int64_t C, int64_t Wq, int64_t ntr, int64_t ntc, FC_T *D,
                                   int64_t tst, int64_t t0) {
    const int64_t nrows = 2 * ntr + 2, cst = 16 * tst;
    fc_sel sel[4]; /* lane l of column j: padded column 2l + j (clamped: lanes past ntc are scratch) */
    for (int j = 0; j < 4; ++j)
        for (int64_t l = 0; l < FC_VL; ++l) sel[j][l] = 2 * l + j < 2 * FC_VL ? 2 * l + j : 2 * FC_VL - 1;
    for (int64_t c = 0; c < C; ++c) {
        const FC_T *bc = band + c * nrows * Wq;
        FC_T *dc = D + c * cst + t0;
        for (int64_t R = 0; R < nrows; ++R) {
            FC_V lo, hi;
            memcpy(&lo, bc + R * Wq, sizeof(FC_V));
            memcpy(&hi, bc + R * Wq + FC_VL, sizeof(FC_V));
            FC_V p[4];
#pragma GCC unroll 4
            for (int j = 0; j < 4; ++j) p[j] = FC_SHUFFLE2(lo, hi, sel[j]);
            /* row R is patch row i of tile row (R - i) / 2, for the two i of its parity */
            for (int64_t i = R & 1; i < 4; i += 2) {
                const int64_t tr = (R - i) / 2;
                if (R < i || tr >= ntr) continue;
                FC_T *d = dc + i * 4 * tst + tr * ntc;
#pragma GCC unroll 4
                for (int j = 0; j < 4; ++j) memcpy(d + j * tst, &p[j], sizeof(FC_V));
            }
        }
    }
}

/* One flat item: tile rows [q0, q1) of the batch (tile row q is image q / ntr's tile row
 * q % ntr; ntc < VL tiles per row), one group.  x: the group's first channel of image 0,
 * images sN apart; g1: the geometry of packing padded rows whole into rows of Wq >= 2*VL
 * (one phase, unit stride); g: the band driver's (C, and npha, Wq, xoff to be set here);
 * rowsrc: room for 2 * (q1 - q0) + 2 rows; band: for C of them; D: C * 16 * tst elements with
 * tst = T rounded up to VL, plus VL (T = (q1 - q0) * ntc); S: cout * 2 * 2 * (T rounded up)
 * elements; V, M as for fc_wino_band (Rt = 1, T tiles).  out: the group's first output
 * plane of image 0, images oN apart, planes plane apart, rows Wo.  Returns 1 (having written
 * no output) when a transformed input is not finite, 0 otherwise. */
FC_ATTR static int fc_wino_flat(const FC_T *x, int64_t sN, const fc_conv_geom *g1, int64_t ntr, int64_t ntc, int64_t q0,
                                int64_t q1, FC_T fill, int64_t *rowsrc, FC_T *band, FC_T *D, FC_T *S, const FC_T *U,
                                int64_t cout, const FC_T *bias, FC_T *V, FC_T *M, FC_T *out, int64_t oN, int64_t plane,
                                int64_t Ho, int64_t Wo) {
    const int64_t C = g1->C, T = (q1 - q0) * ntc, Tpad = (T + FC_VL - 1) / FC_VL * FC_VL, tst = Tpad + FC_VL;
    const int64_t ls = 2 * Tpad; /* strip row: 2 output columns per tile */
    int64_t t = 0;
    for (int64_t q = q0; q < q1;) { /* each image's run of tile rows */
        const int64_t n = q / ntr, tr0 = q % ntr;
        const int64_t nr = ntr - tr0 < q1 - q ? ntr - tr0 : q1 - q;
        for (int64_t i = 0; i < 2 * nr + 2; ++i) rowsrc[i] = 2 * tr0 + i;
        fc_pack_band(x + n * sN, g1, rowsrc, 2 * nr + 2, fill, band);
        fc_wino_flat_gather(band, C, g1->Wq, nr, ntc, D, tst, t);
        t += nr * ntc;
        q += nr;
    }
    /* the last vector's lanes past the item's tiles: transformed too, so made finite */
    for (int64_t c = 0; c < C; ++c)
        for (int64_t ij = 0; ij < 16; ++ij) memset(D + (c * 16 + ij) * tst + T, 0, (size_t)(Tpad - T) * sizeof(FC_T));
    fc_conv_geom gd = *g1;
    int64_t xoff[4] = {0, tst, 2 * tst, 3 * tst};
    gd.npha = 4;
    gd.Wq = tst;
    gd.xoff = xoff;
    if (fc_wino_band2(D, 4, &gd, 1, T, 1, U, cout, bias, V, M, 0, S, 2 * ls, 2, 2 * T, ls)) return 1;
    t = 0;
    for (int64_t q = q0; q < q1;) {
        const int64_t n = q / ntr, tr0 = q % ntr;
        const int64_t nr = ntr - tr0 < q1 - q ? ntr - tr0 : q1 - q;
        for (int64_t oc = 0; oc < cout; ++oc)
            for (int64_t r = 0; r < nr; ++r)
                for (int64_t y = 0; y < 2; ++y) {
                    const int64_t row = 2 * (tr0 + r) + y;
                    if (row < Ho)
                        fc_copy_row(out + n * oN + oc * plane + row * Wo, S + (oc * 2 + y) * ls + 2 * (t + r * ntc),
                                    Wo);
                }
        t += nr * ntc;
        q += nr;
    }
    return 0;
}

#endif /* FASTCONV_WINOGRAD_FLAT_H */
