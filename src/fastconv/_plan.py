"""The planner: which kernel runs for a call, and with which block sizes.

:func:`conv2d` takes the normalised arguments of one convolution (:class:`fastconv._args.ConvArgs`)
and returns a :class:`Plan`: an explicit kernel :class:`Kind`, the reason for it, and every
block size the driver needs.  The drivers (``_direct``, ``_depthwise``, ``_winograd``) only
execute a plan, and the C kernels receive the kind as an ``fc_kind`` value
(``include/fastconv/plan.h``) and never infer it.  :func:`correlate2d` chooses the method of
:func:`fastconv.correlate2d`.  Every threshold comes from :mod:`fastconv._tuning`, read at
each call; a :class:`Force` overrides any of them, the vector width or the kind for one call.

``fastconv.explain`` shows a plan to users; ``docs/architecture.md`` has the table of which
kernel runs when (a test checks it against this module).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np

from fastconv import _buffers, _direct, _pack, _separable, _tuning
from fastconv._args import ConvArgs, is_channels_last, is_cupy
from fastconv._omp import cpu_family, cpu_l2_bytes, cpu_vendor, resolve_threads

#: The CPU's vendor (CPUID), for the few choices that differ between the vendors' caches.
_CPU_VENDOR = cpu_vendor()
#: Its display family (CPUID; 0 when unknown): with the vendor, whether its cores run 64-byte
#: vectors at half rate (half_rate).
_CPU_FAMILY = cpu_family()
#: One core's L2 cache in bytes (CPUID; 0 when unknown), for the channel-lane bands.
_CPU_L2_BYTES = cpu_l2_bytes()


class Kind(enum.IntEnum):
    """The kernel kinds; the values are ``fc_kind``'s in ``include/fastconv/plan.h``."""

    COLUMNS = 1
    COLUMNS_NARROW = 2
    ROWS = 3
    LANES = 4
    DW_STRIP = 5
    DW_SWEEP = 6
    DW_FLAT = 7
    WINOGRAD2 = 8
    WINOGRAD4 = 9
    FFT = 10
    SEPARABLE = 11
    BIAS_ONLY = 12
    CUDA_DIRECT = 13
    CUDA_IGEMM = 14
    DW_NHWC = 15
    DW_PLANE = 16
    POINTWISE = 17


#: What each kind is, for explanations and the architecture document.
#: The kinds :func:`fastconv._engine.run` runs (the others: conv.py's FFT, separable and
#: bias-only paths, and the CUDA kernels).
ENGINE_KINDS = frozenset(
    (
        Kind.COLUMNS,
        Kind.COLUMNS_NARROW,
        Kind.ROWS,
        Kind.LANES,
        Kind.DW_STRIP,
        Kind.DW_SWEEP,
        Kind.DW_FLAT,
        Kind.WINOGRAD2,
        Kind.WINOGRAD4,
        Kind.DW_NHWC,
        Kind.DW_PLANE,
        Kind.POINTWISE,
    )
)

DESCRIPTIONS: Dict[Kind, str] = {
    Kind.COLUMNS: "direct, column tiles (output channels x 2 vectors of columns) over packed bands",
    Kind.COLUMNS_NARROW: "direct, one-channel column tiles (4 vectors of columns) over packed bands",
    Kind.ROWS: "direct, one-channel row-blocked tiles (4 output rows) over packed bands or the input",
    Kind.LANES: "direct, channel-lane tiles (output channels in the vector lanes)",
    Kind.DW_STRIP: "one input channel per output channel, strips read in place",
    Kind.DW_SWEEP: "one input channel per output channel, row sweep written in place",
    Kind.DW_FLAT: "one input channel per output channel, plane read as one long row",
    Kind.WINOGRAD2: "Winograd F(2x2, 3x3)",
    Kind.WINOGRAD4: "Winograd F(4x4, 3x3)",
    Kind.FFT: "overlap-save FFT (scipy.fft)",
    Kind.SEPARABLE: "separable: a column pass then a row pass of the direct kernels",
    Kind.BIAS_ONLY: "no input channel: the bias broadcast",
    Kind.CUDA_DIRECT: "CUDA fc_conv2d (CuPy arrays): one thread per output, shared-memory tiles",
    Kind.CUDA_IGEMM: "CUDA fc_conv2d_igemm (CuPy arrays): implicit GEMM for channel-heavy layers",
    Kind.DW_NHWC: "channels-last depthwise: channels across the vector lanes, NHWC data read in place",
    Kind.DW_PLANE: "one input channel per output channel, a vector of channels at a time across the lanes",
    Kind.POINTWISE: "1x1 as a matrix product: column tiles over panels of pixels, each plane one row",
}

#: conv2d's ``algorithm`` values.
ALGORITHMS = ("auto", "direct", "winograd", "winograd4", "fft")
_WINOGRAD_KIND = {"winograd": Kind.WINOGRAD2, "winograd4": Kind.WINOGRAD4}
#: Why a layer that Winograd would take runs on the direct kernels.
NONFINITE_WINOGRAD = (
    "a non-finite input or weight: Winograd mixes every input of a tile into every output "
    "of it, the direct kernels keep the pattern of NaN and +-inf"
)


@dataclass(frozen=True)
class Force:
    """Per-call overrides of the planner (tests and experiments): a ``kind`` the layer must
    take (ValueError if it cannot), the ``vector_bytes`` of the kernels (32 or 64, capped by
    the CPU's), and ``tuning`` values by their :mod:`fastconv._tuning` names."""

    kind: Optional[Kind] = None
    vector_bytes: Optional[int] = None
    tuning: Mapping[str, Any] = field(default_factory=dict)


class _Table:
    """The tuning values of one plan: ``_tuning``'s, with a Force's overrides."""

    def __init__(self, force: Optional[Force]):
        self._over = force.tuning if force is not None else {}
        for name in self._over:
            if not hasattr(_tuning, name):
                raise ValueError(f"Force.tuning: {name!r} is not a fastconv._tuning name")

    def __getattr__(self, name: str) -> Any:
        if name in self._over:
            return self._over[name]
        return getattr(_tuning, name)


@dataclass(frozen=True)
class Plan:
    """Which kernel runs, why, and the block sizes its driver uses.

    Attributes
    ----------
    kind : Kind
    reason : str
        Why the planner chose it (the rule that decided).
    vector_bytes : int
        Width of the SIMD vectors of the kernels (64: AVX-512, 32: AVX2 or baseline).
    channel_block : int
        Output channels per packed weight block (direct, Winograd).
    layout : tuple or None
        Packed-row layout (pstart, xoff, Wq) of the packed kinds.
    read_in_place : bool
        The channel-lane tiles read the input where it lies (no packed band); DW_NHWC reads
        channels-last pixels that do not start on a vector boundary where they lie (no
        aligned copy of their rows).
    band_rows : int
        Output rows per work item (tile rows for Winograd).
    contiguous : bool
        A band packs every row of its span (else one row per output row and kernel row).
    row_group : int
        Depthwise: output rows per group of the strips.
    tmp_elems : int
        Depthwise: elements of the strips' output buffer per thread (0: written in place).
    stream : bool
        Depthwise sweep, channels-last depthwise and the channel-lane tiles' channels-last
        results: streaming stores.
    prefetch_bytes : int
        Depthwise strips: the next work item's input rows are prefetched when at most this
        many bytes.
    prefetch : bool
        DW_NHWC reading its input in place: the input rows of the next output row are
        prefetched while a row computes (:func:`nhwc_prefetch`).
    tile : int
        Winograd: the output tile m (2 or 4).
    channel_chunks : int
        Direct: the output-channel blocks of each band are shared out in this many chunks,
        each a work item (1: a band is one item).
    column_chunk : int
        Direct, packed bands: output columns per work item (0: whole rows); the layout is
        that of one chunk.
    flat : bool
        Direct column tiles: a band's rows run as one flat row of the band's padded width
        (unit stride; the columns past the plane's dropped).  Winograd F(2x2, 3x3) on
        planes with fewer tiles per row than vector lanes: a work item is a run of
        ``band_rows`` tile rows counted over the whole batch, whose tiles share the lanes
        (:func:`winograd_flat`).  POINTWISE: the pixels are counted over the whole batch,
        N * P of them, panels spanning samples (:func:`pointwise`).
    panels : int
        POINTWISE: panels of pixels copied at a time, over which one block of output
        channels after the other runs (1: one panel, every block over it).
    sample_group : int
        Direct, packed bands, big weights: samples per work item, whose bands the item
        holds at once and runs block by block of output channels, so that each block of
        packed weights serves them all from the caches.
    skip_pad_rows : bool
        Direct column tiles: the kernel rows that land on zero padding are left out when
        the packed weights are all finite (:func:`pad_row_share`).
    subsample : bool
        A strided 1x1 layer without padding: the pixels it reads are copied into a
        compact array first, and the plan is that of the unit-stride layer on it
        (:func:`subsampled_layer`).
    plane_row : bool
        A unit-stride 1x1 layer without padding on planes of mergeable rows: each plane
        runs as one row of H * W pixels (:func:`plane_row_layer`), and the plan is that
        layer's.
    to_planes : bool
        A depthwise layer on channels-last input whose channels are not whole vectors: the
        input is first transposed into channel planes (:func:`planes_depthwise`), and the
        plan is that of the channels-first layer.
    exact : Plan or None
        Winograd: the direct plan of the same layer.  The bands check the inputs they
        transform; when one holds NaN or +-inf the engine reruns the call with this plan,
        whose kernels keep the exact pattern of non-finite values (Winograd would spread
        it over whole tiles).
    threads : int
        Threads at most (the calls' own count may be lower for little work).
    """

    kind: Kind
    reason: str
    vector_bytes: int = 0
    channel_block: int = 0
    layout: Optional[Tuple[np.ndarray, np.ndarray, int]] = None
    read_in_place: bool = False
    band_rows: int = 0
    contiguous: bool = True
    row_group: int = 0
    tmp_elems: int = 0
    stream: bool = False
    prefetch_bytes: int = 0
    prefetch: bool = False
    tile: int = 0
    threads: int = 1
    channel_chunks: int = 1
    column_chunk: int = 0
    flat: bool = False
    sample_group: int = 1
    panels: int = 1
    skip_pad_rows: bool = False
    subsample: bool = False
    plane_row: bool = False
    to_planes: bool = False
    exact: Optional["Plan"] = None

    @property
    def algorithm(self) -> str:
        """The conv2d ``algorithm`` this kind belongs to."""
        if self.kind in (Kind.WINOGRAD2, Kind.WINOGRAD4):
            return "winograd" if self.kind == Kind.WINOGRAD2 else "winograd4"
        if self.kind == Kind.FFT:
            return "fft"
        return "direct"

    def __str__(self) -> str:
        lines = [f"kernel: {self.kind.name.lower()} - {DESCRIPTIONS[self.kind]}", f"why: {self.reason}"]
        if self.vector_bytes:
            lines.append(f"vectors: {self.vector_bytes} bytes")
        blocks = {
            "channel block": self.channel_block,
            "band rows": self.band_rows,
            "row group": self.row_group,
            "tile": self.tile,
            "channel chunks": self.channel_chunks if self.channel_chunks > 1 else 0,
            "column chunk": self.column_chunk,
            "samples per item": self.sample_group if self.sample_group > 1 else 0,
            "panels per copy": self.panels if self.panels > 1 else 0,
        }
        shown = ", ".join(f"{k} {v}" for k, v in blocks.items() if v)
        if shown:
            lines.append(f"blocks: {shown}")
        flags = [
            name
            for name, on in (
                ("reads the input in place", self.read_in_place),
                ("streaming stores", self.stream),
                ("input read in place prefetched a row ahead", self.prefetch),
                (
                    "tiles of several rows and images share the lanes"
                    if self.tile
                    else "pixels counted over the batch, panels spanning samples"
                    if self.kind == Kind.POINTWISE
                    else "flat rows",
                    self.flat,
                ),
                ("kernel rows on zero padding skipped if the weights are finite", self.skip_pad_rows),
                ("channels-last input transposed into channel planes first", self.to_planes),
            )
            if on
        ]
        if flags:
            lines.append("notes: " + ", ".join(flags))
        lines.append(f"threads: up to {self.threads}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------- helpers


def vector_bytes(force: Optional[Force] = None) -> int:
    """Vector width, in bytes, of the kernels a plan uses: the CPU's widest (64 or 32), or a
    Force's, which may only lower it."""
    vb = _direct.cpu_vector_bytes()
    if force is not None and force.vector_bytes is not None:
        if force.vector_bytes not in (32, 64):
            raise ValueError(f"Force.vector_bytes must be 32 or 64, got {force.vector_bytes}")
        vb = min(vb, force.vector_bytes)
    return vb


def _items(work: int, nt: int) -> int:
    """Rows per item so that ``work`` rows make ITEMS_PER_THREAD items per thread."""
    per = _tuning.ITEMS_PER_THREAD * nt
    return (work + per - 1) // per


_layout_memo: Dict[Tuple[int, int, int, int], Tuple[np.ndarray, np.ndarray, int]] = {}
_LAYOUT_MEMO_MAX = 256


def layout(kW: int, sw: int, dw: int, wo_pad: int) -> Tuple[np.ndarray, np.ndarray, int]:
    """Column layout of a packed row: (pstart, xoff, Wq), read-only arrays (memoised: building
    them costs about 1 us, a tenth of a LeNet layer's call).

    "phase" layout: one phase per distinct residue of kw*dw mod sw, so each input element is
    packed once; "tap" layout: one phase per kernel column, chosen when the phases would be
    mostly gaps (huge strides or dilations)."""
    key = (kW, sw, dw, wo_pad)
    hit = _layout_memo.get(key)
    if hit is not None:
        return hit
    if len(_layout_memo) >= _LAYOUT_MEMO_MAX:
        _layout_memo.clear()
    # kw * dw mod sw repeats with period at most sw: the residues come from the first sw taps
    # (a broadcast kernel may have billions of taps)
    residues = sorted({(kw * dw) % sw for kw in range(min(kW, sw))})
    max_off = ((kW - 1) * dw) // sw
    wq_phase = wo_pad + max_off
    if len(residues) * wq_phase <= 2 * kW * wo_pad:
        q = np.zeros(sw, dtype=np.int64)
        q[residues] = np.arange(len(residues), dtype=np.int64)
        pos = np.arange(kW, dtype=np.int64) * dw
        pstart = np.array(residues, dtype=np.int64)
        xoff = q[pos % sw] * wq_phase + pos // sw
        res = (pstart, xoff, wq_phase)
    else:
        res = (np.arange(kW, dtype=np.int64) * dw, np.arange(kW, dtype=np.int64) * wo_pad, wo_pad)
    res[0].flags.writeable = False
    res[1].flags.writeable = False
    _layout_memo[key] = res
    return res


def all_finite(a: Any) -> bool:
    """No NaN or +-inf in the 4-D array ``a`` (one pass, no copy)."""
    return _pack.all_finite(a)


# ---------------------------------------------------------------------------- the rules


def lane_vectors(coutg: int, taps: int, Wo: int, vl: int, one_by_one: bool = False, t: Any = _tuning) -> int:
    """Vectors of output channels per channel-lane tile (1 or 2), or 0 for the column tiles.

    1x1 kernels (``one_by_one``): 1 or 2 with whole vectors of output channels from
    LANES_1X1_MIN_CHANNELS input channels (``taps``), and with half a vector or more where
    the input channels and the row width make them pay (LANES_1X1).  Otherwise 2 when
    the channels per group fill whole two-vector tiles, or whole vectors (a last block of one)
    on rows the column tiles fill badly (LANES_MIXED_FILL); 1 when they fill one-vector tiles
    and the rows are so narrow that column tiles would leave most lanes empty
    (LANES_ONE_VECTOR_FILL); all from LANES_MIN_TAPS products per output."""
    # lanes the column tiles compute for Wo outputs: whole two-vector tiles, then one or two
    # vectors for the rest
    nv = _direct.tile_sizes(32)["nv_wide"]
    full = Wo // (nv * vl) * (nv * vl)
    rem = Wo - full
    computed = full + (0 if rem == 0 else (vl if rem <= vl else nv * vl))
    rule = t.LANES_1X1
    if one_by_one and (
        rule == 2
        or (rule == 1 and coutg >= vl and taps >= t.LANES_1X1_MIN_CHANNELS)
        or (
            rule == 1
            and 2 * coutg >= vl
            and (taps >= 64 or (taps >= 16 and Wo < 0.95 * computed) or (taps >= 4 and Wo < 4 * vl))
        )
    ):
        return 2 if coutg > vl else 1
    if taps < t.LANES_MIN_TAPS:
        return 0
    if coutg % (2 * vl) == 0:
        return 2
    if coutg % vl != 0:
        return 0
    if coutg > 2 * vl and Wo < t.LANES_MIXED_FILL * computed:
        return 2
    if Wo < t.LANES_ONE_VECTOR_FILL * computed:
        # one vector of channels per tap reads as many broadcasts as it has FMAs: worth it
        # only where the column tiles would fill few of their lanes
        return 1
    return 0


def sweeps(kH: int, kW: int, sh: int, dh: int, dw: int, W: int, isz: int, t: Any = _tuning) -> bool:
    """Whether a one-channel layer's rows are wide enough for the row sweep: 3x3 and 5x5, unit
    stride and dilation, rows of at least SWEEP_MIN_ROW_BYTES."""
    return (
        kH == kW
        and kH in t.SWEEP_MIN_ROW_BYTES
        and sh == 1
        and dh == 1
        and dw == 1
        and W * isz >= t.SWEEP_MIN_ROW_BYTES[kH]
    )


def flat_depthwise(a: ConvArgs, vb: int) -> bool:
    """Whether a layer with one input channel per group can take the flat kernel
    (depthwise/flat.h): a 3x3 or 5x5 "same" zero-padded plane of contiguous rows, at least
    a vector wide and at most FC_FLAT_MAX_BYTES a kernel half-height, 64-byte vectors."""
    N, C, H, W = a.x.shape
    kH, kW = a.w.shape[2:]
    Ho, Wo = a.out_shape[2:]
    isz = a.x.itemsize
    h = kH // 2
    return (
        vb == 64
        and kH in (3, 5)
        and kW == kH
        and a.stride == (1, 1)
        and a.dilation == (1, 1)
        and a.pads[0] == h
        and a.pads[2] == h
        and Ho == H
        and Wo == W
        and a.mode == 0
        and a.x.strides[2] == W * isz
        and a.x.strides[3] == isz
        and W >= vb // isz + h - 1
        and h * W * isz <= _direct.tile_sizes(vb)["flat_max_bytes"]
    )


def padded_plane_elems(a: ConvArgs) -> int:
    """Elements of the padded input plane a layer's windows span: (Ho - 1) * stride +
    (k - 1) * dilation + 1 rows by as many columns (the plane size of the DW_PLANE rules)."""
    kH, kW = a.w.shape[2:]
    Ho, Wo = a.out_shape[2:]
    Hp = (Ho - 1) * a.stride[0] + (kH - 1) * a.dilation[0] + 1
    Wp = (Wo - 1) * a.stride[1] + (kW - 1) * a.dilation[1] + 1
    return Hp * Wp


def plane_depthwise(a: ConvArgs, vb: int, t: Any = _tuning) -> bool:
    """Whether a layer with one input channel per group takes the kernel of VL planes at a
    time (depthwise/plane.h): at most DW_PLANE_MAX_TAPS taps and a padded plane of at most
    DW_PLANE_MAX_ELEMS elements (DW_PLANE_MAX_ELEMS_UNIT at unit stride), any stride,
    dilation, padding mode and weights, except where the flat kernel runs faster (3x3, or
    5x5 beyond DW_PLANE_MAX_FLAT5_ELEMS)."""
    kH, kW = a.w.shape[2:]
    elems = padded_plane_elems(a)
    unit = tuple(a.stride) == (1, 1)
    if kH * kW > t.DW_PLANE_MAX_TAPS or elems > (t.DW_PLANE_MAX_ELEMS_UNIT if unit else t.DW_PLANE_MAX_ELEMS):
        return False
    return not flat_depthwise(a, vb) or (kH == 5 and elems <= t.DW_PLANE_MAX_FLAT5_ELEMS)


def plane_nhwc_depthwise(a: ConvArgs, t: Any = _tuning) -> bool:
    """Whether a depthwise layer on channels-last input takes the kernel of VL planes at a
    time (depthwise/plane.h), which reads a pixel's VL channels with one load there (no
    transposes): channel stride one element, one input and one output channel per group,
    unit stride, at most DW_PLANE_MAX_TAPS taps and a padded plane of at most
    DW_PLANE_MAX_ELEMS_UNIT elements; any dilation, padding mode and weights.  Strided
    layers and bigger planes run DW_NHWC (each pass over VL channels reads one line in C /
    VL of the image there: 1.3-2.5x DW_NHWC's time on 56x56 and 112x112 planes).  For a
    channels-first result; a channels-last one runs DW_NHWC (direct: channels_last_result)."""
    C = a.x.shape[1]
    kH, kW = a.w.shape[2:]
    return (
        C > 1
        and a.x.strides[1] == a.x.itemsize
        and a.groups == C
        and a.w.shape[0] == C
        and tuple(a.stride) == (1, 1)
        and kH * kW <= t.DW_PLANE_MAX_TAPS
        and padded_plane_elems(a) <= t.DW_PLANE_MAX_ELEMS_UNIT
    )


def in_place_ok(
    Cg: int,
    sw: int,
    sW: int,
    kH: int,
    kW: int,
    W: int,
    isz: int,
    sh: int = 1,
    dh: int = 1,
    dw: int = 1,
    finite_weights: bool = True,
    *,
    vb: Optional[int] = None,
    t: Any = _tuning,
) -> bool:
    """Whether a layer takes the in-place kernels (one input channel per output channel):
    column stride at most IN_PLACE_MAX_COLUMN_STRIDE, contiguous input rows (``sW``: the
    column stride in bytes), taps no more than IN_PLACE_MAX_SPREAD_VECTORS vectors apart,
    finite weights (the kernels leave out taps on zero padding, where a NaN or infinite
    weight must still make the output NaN), and the measured rule (IN_PLACE_MAX_K, and
    IN_PLACE_MAX_ROW_BYTES at unit column stride, or the sweep's); ``vb``: the vector
    width (default: this CPU's)."""
    spread = t.IN_PLACE_MAX_SPREAD_VECTORS * (vb or vector_bytes()) // isz
    if (
        Cg != 1
        or sw > t.IN_PLACE_MAX_COLUMN_STRIDE
        or sW != isz
        or t.IN_PLACE == 0
        or not finite_weights
        or (kW - 1) * dw > spread
        or (kH - 1) * dh > spread
    ):
        return False
    small = kH <= t.IN_PLACE_MAX_K and kW <= t.IN_PLACE_MAX_K
    return (
        t.IN_PLACE == 2
        or sweeps(kH, kW, sh, dh, dw, W, isz, t)
        or (small and (sw == 2 or kW * W * isz <= t.IN_PLACE_MAX_ROW_BYTES))
    )


def winograd_ok(a: ConvArgs, algorithm: str, t: Any = _tuning) -> bool:
    """Whether the Winograd ``algorithm`` handles the layer: a 3x3 kernel, unit stride, any
    row dilation and a column dilation of WINOGRAD_COLUMN_DILATIONS."""
    return (
        tuple(a.w.shape[2:]) == (3, 3)
        and a.stride == (1, 1)
        and a.dilation[1] in t.WINOGRAD_COLUMN_DILATIONS[algorithm]
    )


def fft_ok(a: ConvArgs) -> bool:
    """Whether the FFT handles the layer: each output channel reads exactly one input channel
    (one channel, or depthwise without a channel multiplier), unit stride and dilation."""
    cout, cg = a.w.shape[:2]
    return cg == 1 and cout == a.groups and a.stride == (1, 1) and a.dilation == (1, 1)


def separable_layer(a: ConvArgs) -> bool:
    """Whether every kernel of a layer with one input channel per output channel is an outer
    product (:func:`fastconv._separable.factors`); False for other layers."""
    return fft_ok(a) and a.w.shape[2] * a.w.shape[3] > 1 and _separable.factors(a.w[:, 0]) is not None


def fft_pays(taps: int, pixels: int, vb: int, t: Any = _tuning) -> bool:
    """Whether "auto" takes the FFT for a kernel of ``taps`` taps (not separable) on output
    planes of ``pixels`` pixels: FFT_MIN_TAPS (by the direct kernels' vector width ``vb``) and
    FFT_MIN_PIXELS."""
    return taps >= t.FFT_MIN_TAPS[vb] and pixels >= t.FFT_MIN_PIXELS


# ---------------------------------------------------------------------------- conv2d

#: Plans by everything they depend on (see :func:`conv2d`): planning costs 10-30 us, as much
#: as a LeNet layer's kernels, and a network calls the same layers again and again.
_memo: Dict[Tuple[Any, ...], Plan] = {}
_MEMO_MAX = 512


def conv2d(
    a: ConvArgs,
    algorithm: str = "auto",
    num_threads: Optional[int] = None,
    force: Optional[Force] = None,
    channels_last_result: bool = False,
    run_checks_weights: bool = False,
) -> Plan:
    """The plan of one conv2d call (CuPy arrays get a CUDA kind); ``channels_last_result``:
    the call returns channels-last memory (see :func:`direct`); ``run_checks_weights``: the
    plan is run at once by the engine, so a Winograd plan is returned without reading the
    weights (its run finds a non-finite transformed weight and takes ``exact``, the plan
    the check would have given), where a plan to show (explain) reads them.

    ``algorithm`` is conv2d's; a Winograd or FFT one for a layer it does not handle is a
    ValueError.  Data-dependent rules read ``a.w``: Winograd with a non-finite weight, and
    the in-place kernels with non-finite weights, give way to kernels that keep the direct
    path's pattern of NaN and +-inf.  A Winograd plan checks the input as it runs (the
    bands' input transform) and falls back to its ``exact`` plan.

    Plans without a ``force`` are memoised by the geometry, dtype, strides, ``algorithm``,
    thread count, vector width, the :mod:`fastconv._tuning` version (bumped by any setattr
    on it) and the finiteness that decided them."""
    nt = resolve_threads(num_threads)
    if force is not None or a.x.shape[1] == 0 or is_cupy(a.x):
        return _conv2d(a, algorithm, nt, force, True, channels_last_result)
    x, w = a.x, a.w
    # the in-place kernels need finite weights (one input channel per output channel only)
    finite_w = all_finite(w) if w.shape[1] == 1 else None
    # "auto" takes the separable passes for rank-1 kernels: whether they are is in the key
    sep = (
        separable_layer(a)
        if algorithm == "auto" and finite_w and w.shape[2] * w.shape[3] > _tuning.DIRECT_MAX_TAPS
        else None
    )
    key: Tuple[Any, ...] = (
        x.shape,
        x.strides,
        w.shape,
        x.dtype.char,
        a.out_shape,
        a.stride,
        a.dilation,
        a.pads,
        a.mode,
        a.groups,
        algorithm,
        nt,
        _direct.cpu_vector_bytes(),
        _tuning.version,
        finite_w,
        sep,
        channels_last_result,
    )
    plan = _memo.get(key)
    if plan is None:
        plan = _remember(key, _conv2d(a, algorithm, nt, None, True, channels_last_result))
    if (
        plan.kind in (Kind.WINOGRAD2, Kind.WINOGRAD4)
        and not run_checks_weights
        and not (finite_w if finite_w is not None else all_finite(w))
    ):
        key = key + ("non-finite",)
        plan = _memo.get(key) or _remember(key, _conv2d(a, algorithm, nt, None, False, channels_last_result))
    return plan


def _remember(key: Tuple[Any, ...], plan: Plan) -> Plan:
    if len(_memo) >= _MEMO_MAX:
        _memo.clear()
    _memo[key] = plan
    return plan


def _conv2d(
    a: ConvArgs, algorithm: str, nt: int, force: Optional[Force], finite_ok: bool, channels_last_result: bool = False
) -> Plan:
    """:func:`conv2d` unmemoised; ``finite_ok`` False: the weights hold NaN or +-inf (Winograd
    gives way to the direct kernels)."""
    t = _Table(force)
    nt = small_call_threads(a, nt, t)
    if algorithm not in ALGORITHMS:
        raise ValueError(f"conv2d: algorithm={algorithm!r} must be one of {', '.join(repr(x) for x in ALGORITHMS)}")
    cout, cg, kh, kw = a.w.shape
    if algorithm == "fft" and not fft_ok(a):
        raise ValueError(
            f"conv2d: algorithm='fft' needs one input channel per output channel "
            f"(C_in / groups = 1 and C_out = groups) with stride 1 and dilation 1, got "
            f"weight shape {tuple(a.w.shape)}, groups={a.groups}, stride {a.stride}, "
            f"dilation {a.dilation}"
        )
    if algorithm in _WINOGRAD_KIND and not winograd_ok(a, algorithm, t):
        *most, last = (str(d) for d in t.WINOGRAD_COLUMN_DILATIONS[algorithm])
        dws = f"{', '.join(most)} or {last}"
        raise ValueError(
            f"conv2d: algorithm={algorithm!r} needs a 3x3 kernel with stride 1 and a "
            f"column dilation of {dws}, got a {kh}x{kw} kernel, stride {a.stride}, "
            f"dilation {a.dilation}"
        )
    if a.x.shape[1] == 0:
        return Plan(Kind.BIAS_ONLY, "no input channel: every output is the empty sum plus the bias")
    if is_cupy(a.x):
        kind, why = cuda(cg, cout // a.groups, kh, kw, t)
        return Plan(kind, why)
    vb = vector_bytes(force)
    want = force.kind if force is not None else None
    if want is None and algorithm in ("auto", "direct") and planes_depthwise(a, vb, channels_last_result, t):
        inner = _conv2d(planes_layer(a), algorithm, nt, None, finite_ok, channels_last_result)
        if inner.kind in ENGINE_KINDS:
            why = "channels-last depthwise layer, channels not whole vectors: transposed into planes"
            return replace(inner, to_planes=True, reason=f"{why}; {inner.reason}")
    if want is not None:
        algorithm = {
            Kind.FFT: "fft",
            Kind.WINOGRAD2: "winograd",
            Kind.WINOGRAD4: "winograd4",
            Kind.SEPARABLE: "separable",
        }.get(want, "direct")
        if (
            algorithm == "fft"
            and not fft_ok(a)
            or algorithm in _WINOGRAD_KIND
            and not winograd_ok(a, algorithm, t)
            or algorithm == "separable"
            and not (fft_ok(a) and separable_layer(a))
        ):
            raise ValueError(f"Force.kind={want.name}: the layer cannot take it")
    reason = f"algorithm={algorithm!r}"
    if algorithm == "auto":
        algorithm, reason = _auto(a, vb, nt, t)
    if algorithm in _WINOGRAD_KIND:
        if force is not None:  # not memoised: check the weights here
            finite_ok = all_finite(a.w)
        if not finite_ok:
            algorithm = "direct"
            reason = NONFINITE_WINOGRAD
        else:
            return _winograd(a, _WINOGRAD_KIND[algorithm], reason, vb, nt, t)
    if algorithm == "fft":
        return Plan(Kind.FFT, reason, vector_bytes=vb, threads=nt)
    if algorithm == "separable":
        return Plan(Kind.SEPARABLE, reason, vector_bytes=vb, threads=nt)
    return direct(a, vb, nt, t, reason=reason, want=want, channels_last_result=channels_last_result)


def small_call_threads(a: ConvArgs, nt: int, t: Any = _tuning) -> int:
    """``nt``, or 1 for a layer of fewer than PARALLEL_MIN_MACS multiply-adds
    (PARALLEL_MIN_MACS_DEPTHWISE with one input channel per group): too little work to pay
    for a parallel region."""
    least = t.PARALLEL_MIN_MACS_DEPTHWISE if a.w.shape[1] == 1 else t.PARALLEL_MIN_MACS
    if nt > 1 and layer_macs(a) < least:
        return 1
    return nt


def cuda(cin_g: int, cout_g: int, kh: int, kw: int, t: Any = _tuning) -> Tuple[Kind, str]:
    """The CUDA kernel of a CuPy layer with these per-group sizes, and why: the implicit GEMM
    for channel-heavy layers (CUDA_GEMM_MIN_K, CUDA_GEMM_MIN_COUT), else the direct kernel."""
    k = cin_g * kh * kw
    if k >= t.CUDA_GEMM_MIN_K and cout_g >= t.CUDA_GEMM_MIN_COUT:
        return Kind.CUDA_IGEMM, (
            f"{k} products per output >= CUDA_GEMM_MIN_K and {cout_g} output channels per group >= CUDA_GEMM_MIN_COUT"
        )
    return Kind.CUDA_DIRECT, f"{k} products per output, {cout_g} output channels per group: below CUDA_GEMM_*"


def _auto(a: ConvArgs, vb: int, nt: int, t: Any) -> Tuple[str, str]:
    """conv2d's "auto": (algorithm, reason)."""
    cout, cg, kh, kw = a.w.shape
    pixels = a.out_shape[2] * a.out_shape[3]
    if fft_ok(a) and kh * kw > t.DIRECT_MAX_TAPS and separable_layer(a):
        return "separable", (
            f"one channel per output channel, {kh}x{kw} taps > DIRECT_MAX_TAPS, and every "
            f"kernel an outer product (to SEPARABLE_ULPS of every tap)"
        )
    if fft_ok(a) and fft_pays(kh * kw, pixels, vb, t):
        return "fft", (
            f"one channel per output channel, {kh}x{kw} taps >= FFT_MIN_TAPS and "
            f"{pixels} output pixels >= FFT_MIN_PIXELS"
        )
    pick = "winograd" if a.dtype == np.float32 else "winograd4"
    dw = a.dilation[1]
    width = -(-a.out_shape[3] // dw)
    if (
        winograd_ok(a, pick, t)
        and cg >= t.WINOGRAD_MIN_CHANNELS
        and (a.dtype == np.float64 or cg <= t.WINOGRAD_MAX_CHANNELS_F32)
        and cout // a.groups >= t.WINOGRAD_MIN_CHANNELS
    ):
        channels = f"3x3, stride 1, {cg} -> {cout // a.groups} channels per group (WINOGRAD_MIN_CHANNELS" + (
            ")" if a.dtype == np.float64 else ", WINOGRAD_MAX_CHANNELS_F32)"
        )
        if dw > 1 and width >= t.WINOGRAD_MIN_PHASE_WIDTH:
            return pick, f"{channels}, phases {width} wide: WINOGRAD_MIN_PHASE_WIDTH"
        if dw == 1 and winograd_pays(a, pick, vb, nt, t):
            return pick, (
                f"{channels}, tiles filling {winograd_fill(a, pick, vb, nt, t):.0%} of their lanes and "
                f"{layer_macs(a) // nt} multiply-adds per thread: WINOGRAD_MIN_LANE_FILL, "
                f"WINOGRAD_{'SHARED' if a.x.shape[0] < nt else 'MIN_THREAD'}_MACS"
            )
    return "direct", "auto: no FFT or Winograd rule applies"


def layer_macs(a: ConvArgs) -> int:
    """The multiply-adds of a layer."""
    N, cout, Ho, Wo = a.out_shape
    cg, kh, kw = a.w.shape[1:]
    return N * cout * Ho * Wo * cg * kh * kw


def winograd_lane_fill(a: ConvArgs, algorithm: str, vb: int) -> float:
    """The share of the vector lanes a tile row's Winograd tiles fill: ceil(W_out / m)
    tiles in whole vectors of ``vb`` bytes (undilated columns)."""
    m = 2 if algorithm == "winograd" else 4
    vl = vb // a.x.itemsize
    tiles = -(-a.out_shape[3] // m)
    return tiles / (-(-tiles // vl) * vl)


def winograd_fill(a: ConvArgs, algorithm: str, vb: int, nt: int, t: Any = _tuning) -> float:
    """The share of the vector lanes the layer's Winograd tiles fill: a flat plan's items
    (:func:`winograd_flat`), else a tile row's (:func:`winograd_lane_fill`)."""
    if winograd_flat(a, _WINOGRAD_KIND[algorithm], vb, t):
        return winograd_flat_fill(a, vb, nt, t)
    return winograd_lane_fill(a, algorithm, vb)


def half_rate(vb: int, t: Any = _tuning) -> bool:
    """Whether this CPU runs vectors of ``vb`` bytes at half rate: 64-byte vectors on a CPU
    of ``WINOGRAD_HALF_RATE_CPUS`` (two 32-byte halves an operation)."""
    return vb == 64 and (_CPU_VENDOR, _CPU_FAMILY) in t.WINOGRAD_HALF_RATE_CPUS


def winograd_tuning(vb: int, t: Any = _tuning) -> Any:
    """The tuning values Winograd's rules read for plans of ``vb``-byte vectors: ``t``, with
    ``WINOGRAD_HALF_RATE``'s values where :func:`half_rate` (a Force that sets thresholds
    those replace sets ``WINOGRAD_HALF_RATE_CPUS`` too)."""
    return _Override(t, **t.WINOGRAD_HALF_RATE) if half_rate(vb, t) else t


def deep_min_pixels(vb: int, t: Any = _tuning) -> int:
    """Output pixels over the batch from which Winograd pays on float32 layers beyond
    WINOGRAD_DEEP_CHANNELS input channels, with ``vb``-byte vectors on this CPU: its entry
    in WINOGRAD_DEEP_MIN_PIXELS_CPUS, else WINOGRAD_DEEP_MIN_PIXELS (``t`` as
    :func:`winograd_tuning` gives it)."""
    return int(t.WINOGRAD_DEEP_MIN_PIXELS_CPUS.get((_CPU_VENDOR, _CPU_FAMILY, vb), t.WINOGRAD_DEEP_MIN_PIXELS[vb]))


def winograd_pays(a: ConvArgs, algorithm: str, vb: int, nt: int, t: Any = _tuning) -> bool:
    """Whether "auto" takes Winograd for an undilated layer Winograd handles: tiles that
    fill WINOGRAD_MIN_LANE_FILL of their lanes, and WINOGRAD_MIN_THREAD_MACS multiply-adds
    per thread (WINOGRAD_SHARED_MIN_MACS where the threads outnumber the images), and
    float32 beyond WINOGRAD_DEEP_CHANNELS input channels :func:`deep_min_pixels` output
    pixels over the batch (the last three by the vector width ``vb``; every value as
    :func:`winograd_tuning` gives it); flat
    (:func:`winograd_flat`) only with WINOGRAD_FLAT_MIN_CHANNELS input channels per group,
    WINOGRAD_FLAT_MIN_TILES tiles per row and WINOGRAD_FLAT_MIN_THREAD_MACS per thread, or
    on narrower planes (and whatever the pixels) WINOGRAD_FLAT_NARROW_MIN_TILES tiles over
    the batch and WINOGRAD_FLAT_NARROW_MIN_THREAD_MACS per thread."""
    t = winograd_tuning(vb, t)
    per_thread = layer_macs(a) // nt
    need = t.WINOGRAD_SHARED_MIN_MACS[vb][algorithm] if a.x.shape[0] < nt else t.WINOGRAD_MIN_THREAD_MACS
    N, _, Ho, Wo = a.out_shape
    if winograd_flat(a, _WINOGRAD_KIND[algorithm], vb, t):
        row_tiles = -(-Wo // 2)
        if a.w.shape[1] < t.WINOGRAD_FLAT_MIN_CHANNELS:
            return False
        if row_tiles < t.WINOGRAD_FLAT_MIN_TILES:
            narrow = (
                N * -(-Ho // 2) * row_tiles >= nt * t.WINOGRAD_FLAT_NARROW_MIN_TILES
                and per_thread >= t.WINOGRAD_FLAT_NARROW_MIN_THREAD_MACS
            )
            return narrow and winograd_fill(a, algorithm, vb, nt, t) >= t.WINOGRAD_MIN_LANE_FILL
        if per_thread < t.WINOGRAD_FLAT_MIN_THREAD_MACS:
            return False
    deep = a.w.shape[1] > t.WINOGRAD_DEEP_CHANNELS[vb]
    if a.dtype == np.float32 and deep and N * Ho * Wo < deep_min_pixels(vb, t):
        return False
    return winograd_fill(a, algorithm, vb, nt, t) >= t.WINOGRAD_MIN_LANE_FILL and per_thread >= need


channels_last = is_channels_last


def nhwc_pool(x: Any, dtype: np.dtype) -> bool:
    """Pooling reads x (N, C, H, W) where it lies with the channels-last kernel
    (pool/nhwc.h): channels-last memory of the result dtype, every stride a whole number of
    elements."""
    return x.dtype == dtype and channels_last(x) and all(v % x.itemsize == 0 for v in x.strides)


def planes_depthwise(a: ConvArgs, vb: int, channels_last_result: bool = False, t: Any = _tuning) -> bool:
    """Whether a depthwise layer (one input and one output channel per group) on C-contiguous
    channels-last input runs on the input transposed into channel planes (Plan.to_planes):
    where its channels are not a whole number of vectors, and DW_NHWC does not take it, or
    it has fewer channels than a vector (which DW_NHWC takes one at a time), or its result
    is channels-first and its planes unit-stride ones beyond DW_PLANE_MAX_ELEMS_UNIT.
    DW_NHWC takes the channels past the last whole vector as the vector that ends at the
    last channel, but writes a channels-first result through blocks of transposes, which
    cost more than transposing the input first on the bigger unit-stride planes."""
    N, C, H, W = a.x.shape
    isz = a.x.itemsize
    vl = vb // isz
    if not (
        C > 1
        and C % vl != 0
        and a.groups == C
        and a.w.shape[0] == C
        and a.w.shape[1] == 1
        and a.x.strides == (H * W * C * isz, isz, W * C * isz, C * isz)
    ):
        return False
    if C < vl or not nhwc_depthwise(a):
        return True
    unit = tuple(a.stride) == (1, 1)
    return not channels_last_result and unit and padded_plane_elems(a) > t.DW_PLANE_MAX_ELEMS_UNIT


def planes_layer(a: ConvArgs, x: Optional[np.ndarray] = None) -> ConvArgs:
    """``a`` on ``x``, its input transposed into channel planes, or for planning on an
    unfilled C-contiguous array of the same shape (plans are memoised: made once per
    geometry, and its pages are never touched)."""
    return a._replace(x=np.empty(a.x.shape, a.x.dtype) if x is None else x)


def nhwc_depthwise(a: ConvArgs) -> bool:
    """A depthwise layer on channels-last input that the NHWC kernel takes: one input channel
    per output channel and group, zero padding, and finite weights (its skipped padding taps
    equal 0 * w only for finite w)."""
    C = a.x.shape[1]
    return (
        channels_last(a.x)
        and a.groups == C
        and a.w.shape[0] == C
        and a.w.shape[1] == 1
        and a.mode == 0
        and a.x.strides[2] % a.x.itemsize == 0
        and (not any(a.pads) or all_finite(a.w))
    )


def nhwc_prefetch(nbytes: int, t: Any) -> bool:
    """Whether DW_NHWC prefetches the input rows of the next output row: an input of
    ``nbytes`` of at least ``NHWC_PREFETCH_MIN_BYTES``, or this CPU's entry in
    ``NHWC_PREFETCH_MIN_BYTES_CPUS`` (read in place, its pixels' vectors are strided by
    whole pixels, which the hardware prefetchers follow late; a smaller one comes from the
    caches, where the prefetches only cost instructions)."""
    return nbytes >= t.NHWC_PREFETCH_MIN_BYTES_CPUS.get((_CPU_VENDOR, _CPU_FAMILY), t.NHWC_PREFETCH_MIN_BYTES)


def channels_last_stream(nbytes: int, channels: int, isz: int, vb: int, min_bytes: int) -> bool:
    """Whether a kernel stores a channels-last result of ``nbytes`` with ``channels``
    channels of ``isz`` bytes with streaming stores: 64-byte vectors, at least
    ``min_bytes`` (the kernel's threshold: CHANNELS_LAST_STREAM_MIN_BYTES for the
    channel-lane tiles, NHWC_STREAM_MIN_BYTES for DW_NHWC), and every pixel on a vector
    boundary (each of its lines streamed whole, none also written by a plain store)."""
    return vb == 64 and nbytes >= min_bytes and channels * isz % vb == 0


def nhwc_in_place(a: ConvArgs, vb: int, t: Any = _tuning) -> bool:
    """Whether DW_NHWC reads channels-last pixels that do not start on a vector boundary
    where they lie, rather than through an aligned copy of a few input rows at a time: on
    CPUs of vendors outside ``NHWC_ALIGNED_COPY_VENDORS``, and on those of
    ``NHWC_IN_PLACE_CPUS`` for strided layers on inputs up to the size listed there."""
    if _CPU_VENDOR not in t.NHWC_ALIGNED_COPY_VENDORS:
        return True
    if tuple(a.stride) == (1, 1):
        return False
    return a.x.nbytes <= t.NHWC_IN_PLACE_CPUS.get((_CPU_VENDOR, _CPU_FAMILY, vb), -1)


def weight_grad(
    cin_g: int,
    cout_g: int,
    taps: int,
    stride: Tuple[int, int],
    isz: int,
    vb: int,
    t: Any = _tuning,
    *,
    out_width: int = 0,
    pixels: int = 0,
    padded: bool = True,
) -> str:
    """The engine of ``grad.conv2d_weight``:

    - ``"planes"`` (depthwise/grad.h, an input plane against a few output-gradient planes
      at a time) for one input channel per group, where a matrix product would have one
      column per output channel (C7: 0.16x PyTorch through BLAS), and for groups of at most
      ``WEIGHT_GRAD_PLANES_MAX_PAIRS`` channel pairs (LeNet's 3 -> 6), or of at most
      ``WEIGHT_GRAD_PLANES_WIDE_PAIRS`` on output rows at least
      ``WEIGHT_GRAD_PLANES_WIDE_WIDTH`` wide (``out_width``; 0: unknown);
    - ``"matmul"`` (the windows unfolded and reduced by NumPy's BLAS) for a 1x1 unit-stride
      kernel over fewer than ``WEIGHT_GRAD_MATMUL_MAX_PIXELS`` output pixels (``pixels``,
      all images together; 0: unknown, taken as few), a plain matrix product with nothing
      to unfold;
    - ``"pointwise"`` (direct/wgrad_pointwise.h, the planes read in place, the pixels
      across the lanes) for the other 1x1 unit-stride kernels without padding (``padded``
      False) whose channels give few products per element the tiles below would first
      transpose channels-last: ``cin_g * cout_g / (cin_g + cout_g)`` at most
      ``WEIGHT_GRAD_POINTWISE_MAX_SHARE``;
    - else ``"tiles_in"`` / ``"tiles_out"`` (direct/wgrad.h), the input or the output
      channels across the vector lanes, whichever fills more of the lanes and tiles.
    """
    pairs = cin_g * cout_g
    if cin_g == 1 or pairs <= t.WEIGHT_GRAD_PLANES_MAX_PAIRS:
        return "planes"
    if pairs <= t.WEIGHT_GRAD_PLANES_WIDE_PAIRS and out_width >= t.WEIGHT_GRAD_PLANES_WIDE_WIDTH:
        return "planes"
    if taps == 1 and tuple(stride) == (1, 1) and pixels < t.WEIGHT_GRAD_MATMUL_MAX_PIXELS:
        return "matmul"
    if (
        taps == 1
        and tuple(stride) == (1, 1)
        and not padded
        and pairs <= t.WEIGHT_GRAD_POINTWISE_MAX_SHARE * (cin_g + cout_g)
    ):
        return "pointwise"

    def filled(vec_out: bool) -> float:  # the share of the padded tiles that is real work
        cp, op, _ = _direct.weight_tile_sizes(vb, isz, cin_g, cout_g, vec_out)
        return cin_g * cout_g / (cp * op)

    return "tiles_out" if filled(True) > filled(False) else "tiles_in"


def weight_grad_run(isz: int, t: Any = _tuning) -> int:
    """Pixels per work item of the ``"pointwise"`` weight gradient: rows of
    ``WEIGHT_GRAD_POINTWISE_RUN_BYTES``, so that a tile's block of output-gradient rows stays
    in the first-level cache while the input rows stream past (and each float32 lane sums
    a run's pixels / VL products before the float64 totals)."""
    return max(1, t.WEIGHT_GRAD_POINTWISE_RUN_BYTES // isz)


def weight_grad_spread(t: Any = _tuning) -> bool:
    """Whether the ``"planes"`` weight gradient of a layer too big for the caches prefetches
    the next plane pair along its 3x3 lane-shift loop: on CPUs of the vendors in
    ``WEIGHT_GRAD_SPREAD_VENDORS``; elsewhere the hardware prefetchers fetch it."""
    return _CPU_VENDOR in t.WEIGHT_GRAD_SPREAD_VENDORS


def weight_grad_band_rows(planes: int, Ho: int, nt: int, t: Any = _tuning) -> int:
    """Output rows per work item of the ``"tiles"`` weight gradient: at most
    ``WEIGHT_GRAD_BAND_ROWS`` (the band's float32 sums, then float64), fewer when the
    ``planes`` (images x groups) would give under ``ITEMS_PER_THREAD`` items per thread."""
    want = max(1, t.ITEMS_PER_THREAD * nt)
    rows = (planes * Ho + want - 1) // want if planes * Ho >= want else 1
    rows = max(1, min(t.WEIGHT_GRAD_BAND_ROWS, rows, Ho))
    if nt > 1 and planes * -(-Ho // rows) <= t.WEIGHT_GRAD_BALANCE_ITEMS:
        # few items: the band height (down to half) that gives the busiest thread the fewest
        # rows in the static schedule (C3's 100 rows in bands of 8 gave one of 2 threads 56)
        rows = min(range(max(1, (rows + 1) // 2), rows + 1), key=lambda r: (_busiest_rows(planes, Ho, r, nt), -r))
    return rows


def _static_makespan(work: List[int], nt: int) -> int:
    """The most work one thread gets when ``prange(schedule="static")`` deals the items out
    in order: contiguous runs, the first ``len(work) % nt`` threads one item more."""
    q, r = divmod(len(work), nt)
    most, i = 0, 0
    for k in range(nt):
        n = q + (k < r)
        most = max(most, sum(work[i : i + n]))
        i += n
    return most


def _busiest_rows(planes: int, Ho: int, rows: int, nt: int) -> int:
    """The most output rows one of ``nt`` threads gets when the bands of ``rows`` rows of
    ``planes`` planes go to them in contiguous chunks (OpenMP's static schedule: the first
    ``n % nt`` threads one item more)."""
    bands = [rows] * (Ho // rows) + ([Ho % rows] if Ho % rows else [])
    return _static_makespan(bands * planes, nt)


def direct(
    a: ConvArgs,
    vb: int,
    nt: int,
    t: Any = _tuning,
    reason: str = "",
    want: Optional[Kind] = None,
    channels_last_result: bool = False,
) -> Plan:
    """The plan of the direct kernels for a NumPy layer ``a``: in-place kernels for one input
    channel per output channel where they pay, else tiles over packed bands.  A depthwise
    layer on channels-last input whose result is channels-last too (``channels_last_result``)
    runs DW_NHWC where that kernel takes it, reading and writing every pixel's channels in
    place, rather than DW_PLANE (plane_nhwc_depthwise), whose transposes pay only for a
    channels-first result."""
    N, C, H, W = a.x.shape
    cout, cg, kH, kW = a.w.shape
    Ho, Wo = a.out_shape[2:]
    sh, sw = a.stride
    dh, dw = a.dilation
    isz = a.x.itemsize
    coutg = cout // a.groups
    vl = vb // isz
    dw_kinds = (Kind.DW_STRIP, Kind.DW_SWEEP, Kind.DW_FLAT)
    if want is None and plane_nhwc_depthwise(a, t) and not (channels_last_result and nhwc_depthwise(a)):
        why = (
            f"channels-last depthwise layer, {Ho}x{Wo} output plane: VL channels at a time, read and "
            "written without transposes (plane_nhwc_depthwise: DW_PLANE_MAX_TAPS, DW_PLANE_MAX_ELEMS_UNIT)"
        )
        R = _direct.dw_plane_band_rows(Ho, (Wo - 1) * sw + (kW - 1) * dw + 1, kH, sh, dh, vb)
        return Plan(Kind.DW_PLANE, f"{reason}: {why}" if reason else why, vector_bytes=vb, band_rows=R, threads=nt)
    if want == Kind.DW_NHWC or (want is None and nhwc_depthwise(a)):
        if not nhwc_depthwise(a):
            raise ValueError("Force.kind=DW_NHWC: needs channels-last input of a depthwise layer, zero padding")
        why = "channels-last depthwise layer (channel stride 1, C_in = C_out = groups, zero padding, finite weights)"
        R = max(1, min(Ho, _items(Ho * N, nt)))
        # streaming stores for a result past what the second-level caches hold
        stream = channels_last_stream(N * cout * Ho * Wo * isz, cout, isz, vb, t.NHWC_STREAM_MIN_BYTES)
        return Plan(
            Kind.DW_NHWC,
            f"{reason}: {why}" if reason else why,
            vector_bytes=vb,
            band_rows=R,
            threads=nt,
            stream=stream,
            # unaligned pixels read where they lie, or through an aligned copy of their rows
            read_in_place=nhwc_in_place(a, vb, t),
            prefetch=nhwc_prefetch(a.x.nbytes, t),
        )
    if want == Kind.DW_PLANE or (want is None and cg == 1 and plane_depthwise(a, vb, t)):
        if cg != 1 or kH * kW > _direct.tile_sizes(vb)["dw_plane_taps"]:
            raise ValueError("Force.kind=DW_PLANE: needs one input channel per group and at most FC_DW_PLANE_TAPS taps")
        why = (
            f"one input channel per output channel, {Ho}x{Wo} output plane, VL channels at a time "
            "(plane_depthwise: DW_PLANE_MAX_TAPS, DW_PLANE_MAX_ELEMS, DW_PLANE_MAX_FLAT5_ELEMS)"
        )
        # the bands the kernel runs: output rows whose padded rows fit FC_DW_PLANE_BAND_BYTES
        Wp = (Wo - 1) * sw + (kW - 1) * dw + 1
        R = _direct.dw_plane_band_rows(Ho, Wp, kH, sh, dh, vb)
        return Plan(Kind.DW_PLANE, f"{reason}: {why}" if reason else why, vector_bytes=vb, band_rows=R, threads=nt)
    if want in dw_kinds:
        t = _Override(t, IN_PLACE=2)
    if cg == 1 and want not in (Kind.COLUMNS, Kind.COLUMNS_NARROW, Kind.ROWS, Kind.LANES):
        finite_w = all_finite(a.w)
        if in_place_ok(cg, sw, a.x.strides[3], kH, kW, W, isz, sh, dh, dw, finite_w, vb=vb, t=t):
            return _depthwise(a, vb, nt, t, reason, want)
    if want in dw_kinds:
        raise ValueError(f"Force.kind={want.name}: the layer cannot take it")
    if kH == 1 and kW == 1 and (sh > 1 or sw > 1) and not any(a.pads) and t.SUBSAMPLE_POINTWISE:
        # (channels-last input is subsampled channels-last: the result's layout rules hold)
        p = direct(subsampled_layer(a), vb, nt, t, reason, want, channels_last_result=channels_last_result)
        return replace(p, subsample=True, reason=f"{p.reason}; stride {sh}x{sw} 1x1: the pixels read copied first")
    # (a channels-last result: the channel-lane tiles write it without a copy)
    if want == Kind.POINTWISE or (want is None and pointwise_pays(a, vb, t, channels_last_result)):
        if not pointwise_ok(a):
            raise ValueError(
                "Force.kind=POINTWISE: needs a unit-stride 1x1 layer without padding, rows of contiguous pixels"
            )
        return pointwise(a, vb, nt, t, reason, forced=want is not None)
    sizes = _direct.tile_sizes(vb)
    # (one row per plane leaves the threads only the planes to share, too few of them but
    # where the planes are small: the threads then share their output-channel blocks)
    few = nt > 1 and N * a.groups < nt * t.ITEMS_PER_THREAD and Ho * Wo > t.SPLIT_CHANNELS_MAX_PLANE_PIXELS
    if kH == 1 and kW == 1 and sh == 1 and sw == 1 and not any(a.pads) and Ho > 1 and rows_merge(a.x) and not few:
        ncol = sizes["ncol"]
        # tiles that fill too few of their columns, or channels-last rows whose packing
        # (VL x VL squares) would leave columns past the last whole vector to go one by one
        fill = Wo / (-(-Wo // ncol) * ncol)
        if t.POINTWISE_ROW_FILL and (fill < t.POINTWISE_ROW_FILL or (channels_last(a.x) and Wo % vl)):
            p = direct(plane_row_layer(a), vb, nt, t, reason, want, channels_last_result=channels_last_result)
            return replace(p, plane_row=True, reason=f"{p.reason}; 1x1 on {Ho}x{Wo} planes: each plane one row")
    # column tiles: blocks of the widest tile's channels, or of the smallest tile holding a
    # group's fewer channels (LeNet's 6: no packed zeros to copy and skip)
    ocb = next(s for s in sizes["ocb_tiles"] if s >= min(coutg, sizes["ocb_wide"])) if coutg >= 3 else 1
    if want == Kind.COLUMNS and ocb == 1:
        raise ValueError("Force.kind=COLUMNS: the layer has fewer than 3 output channels per group")
    vw = (sizes["nv_wide"] if ocb > 1 else sizes["nv_narrow"]) * vl
    wo_pad = (Wo + vw - 1) // vw * vw
    if want == Kind.LANES:
        nov = 2 if coutg > vl else 1
        why = "forced"
    elif want is not None:
        nov = 0
        why = "forced"
    else:
        nov = lane_vectors(coutg, cg * kH * kW, Wo, vl, kH == 1 and kW == 1, t)
        why = ""
    rows_ok = sh == 1 and dh == 1 and kH >= t.ROWS_MIN_KH
    if nov:
        kind = Kind.LANES
        ocb = nov * vl  # channel-lane tiles: they read exactly the Wo columns
        wo_pad = Wo
        why = why or (
            f"{coutg} output channels per group in {nov}-vector lanes, {cg * kH * kW} "
            f"products per output, {Wo} columns (lane_vectors: LANES_*)"
        )
    elif ocb > 1:
        kind = Kind.COLUMNS
        why = why or f"{coutg} output channels per group in blocks of {ocb}"
    elif want == Kind.COLUMNS_NARROW or (want is None and not rows_ok):
        kind = Kind.COLUMNS_NARROW
        why = why or f"{coutg} output channel(s) per group"
    elif rows_ok:
        kind = Kind.ROWS
        why = why or f"{coutg} output channel(s) per group, unit row stride, kernel height >= ROWS_MIN_KH"
    else:
        raise ValueError("Force.kind=ROWS needs stride and dilation 1 in height")
    Wp = (Wo - 1) * sw + (kW - 1) * dw + 1
    # channel-lane tiles read exactly the columns their outputs need: where no padding is
    # read, with column stride 1 and contiguous columns, they read the input in place; the
    # row tiles too when their vectors cover the rows exactly (no read past a row's Wp
    # columns: a volume's zero-padded planes, see signal._volume_direct)
    in_place = (
        (kind == Kind.LANES or (kind == Kind.ROWS and rows_cover(Wo, vb, isz)))
        and sw == 1
        and a.x.strides[3] == isz
        and a.pads[0] == 0
        and a.pads[2] == 0
        and Wp <= W
        and (Ho - 1) * sh + (kH - 1) * dh + 1 <= H
        and t.IN_PLACE != 0
    )
    cw = 0 if in_place else column_chunk(a, wo_pad, vw, nt, t)
    if cw:
        wo_pad = cw
    # flat rows: band rows Wp apart, so that a tap is one offset kh * dh * Wp + kw * dw; the
    # band's rows are then contiguous (dilation at most 2 in height keeps them so).  The lanes
    # they fill, Wo / Wp, against whole rows' Wo / wo_pad
    flat = (
        kind in (Kind.COLUMNS, Kind.COLUMNS_NARROW)
        and not cw
        and sh == 1
        and sw == 1
        and (kH - 1) * dh + 1 <= 2 * kH
        and wo_pad >= t.FLAT_MIN_GAIN * Wp
    )
    if flat:
        wo_pad = Wo
    pstart, xoff, Wq = lay = layout(kW, sw, dw, wo_pad)
    if kind == Kind.ROWS and len(pstart) == 1 and Wq % vl:
        # packed rows that start on vector boundaries: the row tiles' lane shifts
        Wq = -(-Wq // vl) * vl
        lay = (pstart, xoff, Wq)
    # band height: one band's packed rows near band_bytes, but enough items for every thread
    row_bytes = cg * len(pstart) * Wq * isz
    wbytes = coutg * cg * kH * kW * isz  # a group's weights
    band = band_bytes(wbytes, t) if kind == Kind.LANES else t.BAND_BYTES
    R = (band // max(row_bytes, 1) - (kH - 1) * dh) // sh
    if cg == 1:
        # one input channel (wide planes the in-place kernels do not take): at least as many
        # output rows as the kernel's extra rows, so a band packs at most twice the rows it
        # computes (C8, I3)
        R = max(R, ((kH - 1) * dh + sh - 1) // sh)
    per_thread = _items(Ho * N * a.groups, nt)
    # big weights: bands as tall as band_bytes allows, since each band streams all of the
    # weights once (the tiles run block by block over the band's rows), and the threads
    # share a band's output-channel blocks in chunks instead of taking shorter bands; so do
    # several threads on small output planes that the load balance would cut into bands,
    # which would share a cache line of every output plane
    small_planes = nt > 1 and Ho * Wo <= t.SPLIT_CHANNELS_MAX_PLANE_PIXELS and (per_thread < Ho or N * a.groups < nt)
    big = (wbytes >= t.SPLIT_CHANNELS_MIN_WEIGHT_BYTES or small_planes) and -(-coutg // ocb) > 1
    if in_place and big:
        R = max(1, min(Ho, (band // max(cg * W * isz, 1) - (kH - 1) * dh) // sh))
    elif in_place:
        R = max(1, min(Ho, per_thread, t.IN_PLACE_BAND_ROWS))  # no band to size: load balance
    elif big:
        R = max(1, min(R, Ho))
    else:
        R = max(1, min(R, Ho, max(per_thread, 1)))
    # big weights, several samples: an item holds the bands of a group of samples, up to
    # SAMPLE_GROUP_BYTES of them, and runs them block by block of output channels, so that
    # every block of weights is read from memory once per group instead of once per sample
    group = 1
    if big and N > 1 and not flat:
        rows = (R - 1) * sh + (kH - 1) * dh + 1
        per = cg * rows * (W if in_place else len(pstart) * Wq) * isz
        group = max(1, min(N, t.SAMPLE_GROUP_BYTES // max(per, 1)))
    chunks = 1
    if big and nt > 1:
        group, chunks = _balanced_groups(N, group, a.groups * -(-Ho // R), -(-coutg // ocb), nt, t)
    contiguous = in_place or flat or ((R - 1) * sh + (kH - 1) * dh + 1) <= 2 * R * kH
    return Plan(
        kind,
        f"{reason}: {why}" if reason else why,
        vector_bytes=vb,
        channel_block=ocb,
        layout=lay,
        read_in_place=in_place,
        band_rows=R,
        contiguous=contiguous,
        threads=nt,
        channel_chunks=chunks,
        column_chunk=cw,
        flat=flat,
        sample_group=group,
        skip_pad_rows=(
            kind in (Kind.COLUMNS, Kind.COLUMNS_NARROW) and a.mode == 0 and pad_row_share(a) >= t.SKIP_PAD_ROWS_MIN
        ),
        stream=kind == Kind.LANES
        and channels_last_result
        and channels_last_stream(N * cout * Ho * Wo * isz, cout, isz, vb, t.CHANNELS_LAST_STREAM_MIN_BYTES),
    )


def band_bytes(weight_bytes: int, t: Any = _tuning, l2: Optional[int] = None) -> int:
    """Bytes of packed input per band of the channel-lane tiles (the other packed kinds
    take BAND_BYTES), for a group's ``weight_bytes`` of weights: BAND_BYTES, capped at
    SMALL_L2_BAND_BYTES where a core's L2 cache (``l2``; default: this CPU's, 0 when
    unknown) is smaller than SMALL_L2_BYTES and holds the weights (bigger weights come
    from further away once per band, and shorter bands read them more often)."""
    l2 = _CPU_L2_BYTES if l2 is None else l2
    if 0 < l2 < t.SMALL_L2_BYTES and weight_bytes <= l2:
        return int(min(t.BAND_BYTES, t.SMALL_L2_BAND_BYTES))
    return int(t.BAND_BYTES)


def rows_cover(Wo: int, vb: int, isz: int) -> bool:
    """Whether the row tiles' vectors cover Wo output columns exactly, so that they read
    no column past a row's last tap: the ROWS kind then reads an input without padding in
    place (the N-D volume paths zero-pad their planes once for it)."""
    return Wo % (_direct.tile_sizes(vb)["nv_rows"] * (vb // isz)) == 0


def pointwise_ok(a: ConvArgs) -> bool:
    """Whether the POINTWISE kernel takes the layer: 1x1 weights at unit stride, no padding,
    each input plane's rows one after the other (one row of pixels) and its pixels
    contiguous, or (one group) channels-last pixels of contiguous channels one after the
    other (transposed into the kernel's panels)."""
    kH, kW = a.w.shape[2:]
    isz = a.x.itemsize
    C = a.x.shape[1]
    return (
        kH == 1
        and kW == 1
        and a.stride == (1, 1)
        and not any(a.pads)
        and rows_merge(a.x)
        and (a.x.strides[3] == isz or (a.groups == 1 and C > 1 and a.x.strides[1] == isz and a.x.strides[3] == C * isz))
    )


def pointwise_pays(a: ConvArgs, vb: int, t: Any = _tuning, channels_last_result: bool = False) -> bool:
    """Whether a layer the POINTWISE kernel takes runs faster there than on the channel-lane
    tiles: from POINTWISE_MIN_CHANNELS input channels per group, with vectors of at least
    POINTWISE_MIN_VECTOR_BYTES, on planes of at least :func:`pointwise_min_pixels` pixels
    (counted over the batch where POINTWISE would, :func:`pointwise_flat`), or for a
    channels-last result (which the channel-lane tiles write in place and POINTWISE
    through a transpose) with at most POINTWISE_CL_RESULT_MAX_VECTORS vectors of output
    channels per group, on any plane."""
    if not t.POINTWISE or vb < t.POINTWISE_MIN_VECTOR_BYTES or not pointwise_ok(a):
        return False
    if a.w.shape[1] < t.POINTWISE_MIN_CHANNELS:
        return False
    if channels_last_result:
        vl = vb // a.x.itemsize
        return a.w.shape[0] // a.groups <= t.POINTWISE_CL_RESULT_MAX_VECTORS * vl
    pixels = a.out_shape[2] * a.out_shape[3]
    return pixels * (a.x.shape[0] if pointwise_flat(a, vb, t) else 1) >= pointwise_min_pixels(vb, t)


def pointwise_flat(a: ConvArgs, vb: int, t: Any = _tuning) -> bool:
    """Whether POINTWISE counts the layer's pixels over the batch (Plan.flat): with
    POINTWISE_FLAT, several samples and planes whose pixels are not whole panels."""
    vw = _direct.tile_sizes(vb)["nv_wide"] * vb // a.x.itemsize
    return bool(t.POINTWISE_FLAT) and a.x.shape[0] > 1 and (a.out_shape[2] * a.out_shape[3]) % vw != 0


def pointwise_min_pixels(vb: int, t: Any = _tuning) -> int:
    """The fewest pixels per plane on which POINTWISE pays, with vectors of ``vb`` bytes."""
    return t.POINTWISE_MIN_PIXELS_32 if vb == 32 else t.POINTWISE_MIN_PIXELS


def _balanced_panels(panels: int, most: int, items: int, chunks: int, nt: int) -> int:
    """Panels per pixel chunk for ``items`` rows of ``panels`` panels, each chunk split into
    ``chunks`` chunks of output-channel blocks, shared statically by ``nt`` threads: of
    ``most`` and down to half of it, the size whose busiest thread has the fewest panels
    (the larger size at a tie).  Evening out the chunk count alone can leave an odd count:
    7 chunks of 7 of a 49-panel row (576 -> 96 on 14x14 at batch 8) give 2 threads 28
    panels and 21, 10 chunks of 5 give them 25 and 24."""
    best, best_load = most, None
    for size in range(most, max(1, (most + 1) // 2) - 1, -1):
        row = [min(size, panels - c * size) for c in range(-(-panels // size))]
        load = _static_makespan([n for n in row for _ in range(chunks)] * items, nt)
        if best_load is None or load < best_load:
            best, best_load = size, load
    return best


def pointwise(a: ConvArgs, vb: int, nt: int, t: Any = _tuning, reason: str = "", forced: bool = False) -> Plan:
    """The POINTWISE plan of a layer it takes (:func:`pointwise_ok`): blocks of the widest
    column tile's output channels (or of the smallest tile holding a group's fewer), items of
    whole planes, split into chunks of whole panels (sized for even thread shares,
    :func:`_balanced_panels`) and then into chunks of the output-channel blocks until the
    threads have ITEMS_PER_THREAD items each (or, with fewer items than threads and at
    least POINTWISE_SPLIT_BLOCKS_PER_PANEL blocks per thread for each panel of such a pixel
    chunk, into one chunk of the blocks per thread, each over whole items); runs of panels
    of POINTWISE_PANEL_BYTES copied at a time on few input channels and many blocks
    (POINTWISE_PANELS_*).  Planes whose pixels are not whole panels are counted as one row
    over the batch (flat, POINTWISE_FLAT), so that only the batch's last panel is partly
    empty."""
    N = a.x.shape[0]
    coutg = a.w.shape[0] // a.groups
    P = a.out_shape[2] * a.out_shape[3]
    sizes = _direct.tile_sizes(vb)
    vw = sizes["nv_wide"] * vb // a.x.itemsize
    ocb = next(s for s in sizes["ocb_tiles"] if s >= min(coutg, sizes["ocb_wide"]))
    nob = -(-coutg // ocb)
    flat = pointwise_flat(a, vb, t)
    span = N * P if flat else P  # pixels of an item's row
    panels = -(-span // vw)
    cw, chunks = 0, 1
    items, want = (1 if flat else N) * a.groups, nt * t.ITEMS_PER_THREAD
    if nt > 1 and items < want:
        per = -(-want // items)  # chunks per plane wanted
        pc = min(panels, per)
        cw = -(-panels // pc) * vw if pc > 1 else 0
        chunks = min(nob, -(-per // pc))
        if items < nt and cw and nob >= nt * t.POINTWISE_SPLIT_BLOCKS_PER_PANEL * (cw // vw):
            cw, chunks = 0, -(-nt // items)  # each thread a chunk of the blocks over whole items
        elif cw:
            cw = _balanced_panels(panels, cw // vw, items, chunks, nt) * vw
    cg = a.w.shape[1]
    npan = 1  # panels per copy: an item's blocks of output channels run over them in turn
    if cg <= t.POINTWISE_PANELS_MAX_CHANNELS and -(-nob // chunks) >= t.POINTWISE_PANELS_MIN_BLOCKS:
        npan = max(1, min(-(-(cw or span) // vw), t.POINTWISE_PANEL_BYTES // (cg * vw * a.x.itemsize)))
    why = "forced" if forced else f"1x1 layer, {P} pixels per plane, {cg} input channels (pointwise_pays)"
    return Plan(
        Kind.POINTWISE,
        f"{reason}: {why}" if reason else why,
        vector_bytes=vb,
        channel_block=ocb,
        band_rows=1,
        threads=nt,
        channel_chunks=chunks,
        column_chunk=cw if cw < span else 0,
        panels=npan,
        flat=flat,
        plane_row=True,
    )


def _balanced_groups(N: int, most: int, bands: int, nob: int, nt: int, t: Any = _tuning) -> Tuple[int, int]:
    """(samples per item, channel chunks) of a big-weights plan on ``nt`` threads, N samples
    in groups of at most ``most``, ``bands`` bands per sample (row bands times groups of
    channels) and ``nob`` output-channel blocks: for each group size from ``most`` down to
    half of it, the chunks that give ITEMS_PER_THREAD items per thread, and of these the
    size whose items the static schedule deals out most evenly, the largest among equals
    (it streams the weights the fewest times).  Groups of N = 8 in threes left one thread
    15 of the 24 parts of the work.  Many items balance by themselves: ``most`` as it is."""
    want = nt * t.ITEMS_PER_THREAD
    if -(-N // most) * bands >= 4 * want:
        return most, 1
    best: Tuple[Any, ...] = ()
    for g in range(most, max(1, most // 2, most - 64) - 1, -1):
        ng = -(-N // g)
        chunks = min(nob, -(-want // (ng * bands)))
        work = [
            min(g, N - s * g) * ((c + 1) * nob // chunks - c * nob // chunks)
            for s in range(ng)
            for _ in range(bands)
            for c in range(chunks)
        ]
        key = (_static_makespan(work, nt), -g)
        if not best or key < best[0]:
            best = (key, g, chunks)
    return best[1], best[2]


def pad_row_share(a: ConvArgs) -> float:
    """The share of a layer's (output row, kernel row) pairs whose padded row is zero
    padding, above or below the plane."""
    H = a.x.shape[2]
    kH = a.w.shape[2]
    Ho = a.out_shape[2]
    (sh, _), (dh, _), pt = a.stride, a.dilation, a.pads[0]
    real = 0
    for kh in range(kH):  # output rows oh with pt <= oh * sh + kh * dh < pt + H
        lo = max(0, -(-(pt - kh * dh) // sh))
        hi = min(Ho, -(-(pt + H - kh * dh) // sh))
        real += max(0, hi - lo)
    return 1.0 - real / max(Ho * kH, 1)


def column_chunk(a: ConvArgs, wo_pad: int, vw: int, nt: int, t: Any = _tuning) -> int:
    """Output columns per work item of a packed direct plan, 0 for whole rows: rows of at
    least 2 * COLUMN_CHUNK_MIN columns are split (chunks of at least COLUMN_CHUNK_MIN, whole
    tiles of ``vw`` columns) so that one chunk's band of packed rows fits BAND_BYTES and,
    on several threads, the plane's rows and chunks make ITEMS_PER_THREAD items per thread."""
    N = a.x.shape[0]
    cg, kH, kW = a.w.shape[1:]
    Ho, Wo = a.out_shape[2:]
    if Wo < 2 * t.COLUMN_CHUNK_MIN:
        return 0
    npha = len(layout(kW, a.stride[1], a.dilation[1], wo_pad)[0])
    col_bytes = cg * ((kH - 1) * a.dilation[0] + 1) * npha * a.x.itemsize  # one output row's band, per column
    cw = t.BAND_BYTES // max(col_bytes, 1)
    items = N * a.groups * Ho
    if nt > 1 and items < nt * t.ITEMS_PER_THREAD:
        cw = min(cw, -(-Wo // -(-(nt * t.ITEMS_PER_THREAD) // items)))
    cw = max(t.COLUMN_CHUNK_MIN, cw)
    if cw >= Wo:
        return 0
    return -(-Wo // -(-Wo // cw) // vw) * vw  # as many chunks, evened out, whole tiles


class _Override:
    """A tuning table with some values replaced."""

    def __init__(self, base: Any, **values: Any):
        self._base = base
        self._values = values

    def __getattr__(self, name: str) -> Any:
        if name in self._values:
            return self._values[name]
        return getattr(self._base, name)


def rows_merge(y: np.ndarray) -> bool:
    """Whether the rows of every plane of y (N, C, H, W) lie one after the other, so that
    ``y.reshape(N, C, 1, H * W)`` is a view."""
    return y.shape[2] == 1 or y.strides[2] == y.shape[3] * y.strides[3]


def plane_row_layer(a: ConvArgs) -> ConvArgs:
    """The unit-stride, unpadded 1x1 layer ``a`` with each plane one row of H * W pixels
    (``rows_merge(a.x)``: the input a view)."""
    N, C, H, W = a.x.shape
    N, Co, Ho, Wo = a.out_shape
    # built field by field: NamedTuple._replace costs a microsecond, which shows on the
    # small 1x1 layers of a network at batch 1
    x = a.x.reshape(N, C, 1, H * W)
    return ConvArgs(
        x, a.w, a.bias, a.dtype, a.batched, (N, Co, 1, Ho * Wo), a.stride, a.dilation, a.pads, a.mode, a.groups
    )


def subsampled_layer(a: ConvArgs, x: Optional[np.ndarray] = None) -> ConvArgs:
    """The strided 1x1 layer ``a`` (no padding) at unit stride on ``x``, the pixels it reads
    (:func:`subsample`), or an unfilled aligned array of their shape and layout (for
    planning, and the destination of :func:`subsample`'s copy)."""
    if x is None:
        N, C = a.x.shape[:2]
        Ho, Wo = a.out_shape[2:]
        if is_channels_last(a.x):
            x = _buffers.empty((N, Ho, Wo, C), a.x.dtype).transpose(0, 3, 1, 2)
        else:
            x = _buffers.empty((N, C, Ho, Wo), a.x.dtype)
    return a._replace(x=x, stride=(1, 1))


def subsample(a: ConvArgs, nt: int) -> np.ndarray:
    """The pixels the strided 1x1 layer ``a`` reads, as a compact array in ``a.x``'s layout
    (channels-last input stays channels-last), copied on up to ``nt`` threads."""
    dst = subsampled_layer(a).x
    _pack.subsample(a.x, dst, a.stride[0], a.stride[1], nt, _tuning.SUBSAMPLE_THREAD_ELEMS)
    return dst


def _depthwise(a: ConvArgs, vb: int, nt: int, t: Any, reason: str, want: Optional[Kind]) -> Plan:
    """The in-place kernels: flat, sweep or strips, with their row groups and buffers."""
    N, C, H, W = a.x.shape
    cout, _, kH, kW = a.w.shape
    Ho, Wo = a.out_shape[2:]
    sh = a.stride[0]
    dh, dw = a.dilation
    pl = a.pads[2]
    isz = a.x.itemsize
    vl = vb // isz
    flat = flat_depthwise(a, vb)
    R = max(1, min(Ho, _items(Ho * N * cout, nt)))
    reach = (kH - 1) * dh + 1
    ew = vl + (kW - 1) * dw
    rg = max(1, min(R, 64, ((t.DW_EDGE_BYTES // isz) // ew - reach) // sh + 1))
    rg = max(1, min(rg, ((t.DW_GROUP_BYTES // isz) // W - reach) // sh + 1))
    wide = a.stride[1] == 1 and sweeps(kH, kW, sh, dh, dw, W, isz, t)
    interior = min(W - (kW - 1) * dw, Wo - pl)  # output columns the sweep covers
    if want == Kind.DW_FLAT and not flat:
        raise ValueError("Force.kind=DW_FLAT: the layer does not keep its plane's shape (or 32-byte vectors)")
    if want == Kind.DW_SWEEP and not (
        kH == kW and kH in (3, 5) and a.stride == (1, 1) and a.dilation == (1, 1) and interior >= vl
    ):
        raise ValueError(
            "Force.kind=DW_SWEEP: needs a 3x3 or 5x5 unit-stride kernel over a row interior of at least one vector"
        )
    if want is not None and want in (Kind.DW_STRIP, Kind.DW_SWEEP):
        flat = False
        wide = want == Kind.DW_SWEEP
    if flat:
        kind, why = Kind.DW_FLAT, "3x3 or 5x5 'same' plane of rows at most FC_FLAT_MAX_BYTES (64-byte vectors)"
    elif wide and interior >= vl:
        kind, why = Kind.DW_SWEEP, "3x3 or 5x5 unit-stride kernel over rows of at least SWEEP_MIN_ROW_BYTES"
    else:
        kind, why = Kind.DW_STRIP, "kernel and rows within IN_PLACE_MAX_K and IN_PLACE_MAX_ROW_BYTES"
    tmp = 0
    if kind != Kind.DW_SWEEP:
        rg = max(1, min(rg, (t.DW_TMP_BYTES // isz) // max(Wo, vl)))
        tmp = rg * max(Wo, vl)
    stream = kind == Kind.DW_SWEEP and vb == 64 and N * cout * Ho * Wo * isz >= t.STREAM_MIN_BYTES and Wo % vl == 0
    why = "one input channel per output channel, read in place: " + why
    return Plan(
        kind,
        f"{reason}: {why}" if reason else why,
        vector_bytes=vb,
        band_rows=R,
        row_group=rg,
        tmp_elems=tmp,
        stream=stream,
        prefetch_bytes=t.DW_PREFETCH_BYTES,
        threads=nt,
    )


def _winograd(a: ConvArgs, kind: Kind, reason: str, vb: int, nt: int, t: Any) -> Plan:
    """Winograd's tile-row bands: V and M near WINOGRAD_BAND_BYTES, enough items for every
    thread, whole groups of 3 chunks (the product tile's width) where cheap; ``exact``, the
    direct plan for inputs that are not all finite."""
    N, C, H, W = a.x.shape
    cout, cg = a.w.shape[:2]
    Ho, Wo = a.out_shape[2:]
    dh, dw = a.dilation
    m = 2 if kind == Kind.WINOGRAD2 else 4
    A = m + 2
    isz = a.x.itemsize
    vl = vb // isz
    coutg = cout // a.groups
    ocb = _direct.tile_sizes(vb)["wino_ocb"]
    ocp = (coutg + ocb - 1) // ocb * ocb
    ntr = ((Ho + dh - 1) // dh + m - 1) // m
    ntc = ((Wo + dw - 1) // dw + m - 1) // m
    exact = direct(a, vb, nt, t, reason=NONFINITE_WINOGRAD)
    if winograd_flat(a, kind, vb, t):
        rows = _flat_rows(a, vb, nt, t)
        return Plan(
            kind, reason, vector_bytes=vb, channel_block=ocb, band_rows=rows, tile=m, threads=nt, flat=True, exact=exact
        )
    lay = layout(dw * A, m * dw, 1, (ntc + vl - 1) // vl * vl)
    ncr = dw * ((ntc + vl - 1) // vl)  # vector chunks of tiles per tile row
    row_bytes = A * A * (cg + ocp) * ncr * vl * isz
    Rt = t.WINOGRAD_BAND_BYTES // max(row_bytes, 1)
    per_thread = _items(ntr * N * a.groups * min(dh, Ho), nt)
    Rt = max(1, min(Rt, ntr, per_thread))
    # whole groups of 3 chunks where that costs at most 2 more rows and keeps the buffers
    # below twice the aim (C5 with m = 4)
    r3 = Rt
    while (r3 * ncr) % 3 and r3 < Rt + 2 and r3 < ntr:
        r3 += 1
    if (r3 * ncr) % 3 == 0 and r3 * row_bytes <= 2 * t.WINOGRAD_BAND_BYTES:
        Rt = r3
    return Plan(
        kind, reason, vector_bytes=vb, channel_block=ocb, layout=lay, band_rows=Rt, tile=m, threads=nt, exact=exact
    )


def winograd_flat(a: ConvArgs, kind: Kind, vb: int, t: Any = _tuning) -> bool:
    """Whether a Winograd layer runs flat (include/fastconv/winograd/flat.h): F(2x2, 3x3),
    undilated, with fewer tiles per row than vector lanes, and a tile row's tiles filling
    less than WINOGRAD_MIN_LANE_FILL of their lanes; the tiles of several tile rows and
    images then share them."""
    vl = vb // a.x.itemsize
    return (
        kind == Kind.WINOGRAD2
        and a.dilation == (1, 1)
        and -(-a.out_shape[3] // 2) < vl
        and winograd_lane_fill(a, "winograd", vb) < t.WINOGRAD_MIN_LANE_FILL
    )


def _flat_rows(a: ConvArgs, vb: int, nt: int, t: Any) -> int:
    """Tile rows per flat Winograd item: the run whose tiles best fill whole vectors, times
    the share of the threads' time the static schedule keeps busy, with V and M of at most
    WINOGRAD_FLAT_BAND_BYTES (or one vector of tiles) and an item for every thread where
    the batch has the rows; the longer run among equal scores."""
    N = a.x.shape[0]
    Ho, Wo = a.out_shape[2:]
    cg = a.w.shape[1]
    vl = vb // a.x.itemsize
    ocb = _direct.tile_sizes(vb)["wino_ocb"]
    coutg = a.w.shape[0] // a.groups
    ocp = (coutg + ocb - 1) // ocb * ocb
    ntc, nq = -(-Wo // 2), N * -(-Ho // 2)
    chunk_bytes = 16 * (cg + ocp) * vl * a.x.itemsize
    most = max(1, t.WINOGRAD_FLAT_BAND_BYTES // chunk_bytes)
    groups = a.groups
    best, best_score = 1, -1.0
    for rows in range(1, nq + 1):
        chunks = -(-rows * ntc // vl)
        if chunks > most:
            break
        if rows > 1 and groups * -(-nq // rows) < nt:
            break
        # the busiest thread's share, counting every item whole (closed form: a list of the
        # items would make planning grow with the batch)
        items = groups * -(-nq // rows)
        busy = nq * groups / (nt * -(-items // nt) * rows)
        score = rows * ntc / (chunks * vl) * busy
        if score >= best_score - 1e-9:
            best, best_score = rows, score
    return best


def winograd_flat_fill(a: ConvArgs, vb: int, nt: int, t: Any = _tuning) -> float:
    """The share of the vector lanes a flat Winograd item's tiles fill."""
    rows = _flat_rows(a, vb, nt, t)
    vl = vb // a.x.itemsize
    tiles = rows * -(-a.out_shape[3] // 2)
    return tiles / (-(-tiles // vl) * vl)


# ---------------------------------------------------------------------------- correlate2d


def correlate2d(
    kernel: np.ndarray, out_pixels: int, method: str, separable: Any, force: Optional[Force] = None
) -> Tuple[Kind, str]:
    """correlate2d's method as a kind (FFT, SEPARABLE, or COLUMNS for the direct kernels,
    whose own plan follows from the layer), and why.  ``separable(kernel)`` gives the
    factors or None; a non-finite kernel takes the direct kernels whatever the method."""
    t = _Table(force)
    if not all_finite(kernel[None, None]):
        return Kind.COLUMNS, "a NaN or +-inf tap reaches every output: the direct kernels"
    kh, kw = kernel.shape
    if method == "direct":
        return Kind.COLUMNS, "method='direct'"
    if method == "fft":
        return Kind.FFT, "method='fft'"
    if method == "separable":
        if separable(kernel) is not None:
            return Kind.SEPARABLE, "method='separable'"
        return Kind.COLUMNS, "method='separable' for a kernel that is not: the direct kernels"
    if kh * kw <= t.DIRECT_MAX_TAPS:
        return Kind.COLUMNS, f"{kh}x{kw} taps <= DIRECT_MAX_TAPS"
    if separable(kernel) is not None:
        return Kind.SEPARABLE, "the kernel is an outer product (to SEPARABLE_ULPS of every tap)"
    if fft_pays(kh * kw, out_pixels, vector_bytes(force), t):
        return Kind.FFT, f"{kh}x{kw} taps >= FFT_MIN_TAPS on {out_pixels} output pixels >= FFT_MIN_PIXELS"
    return Kind.COLUMNS, "auto: the direct kernels"


# ---------------------------------------------------------------------------- the table

#: Layers of the architecture document's "which kernel runs when" table: the benchmark's
#: convolution cases and a few layers of real networks.  (name, input shape, weight shape,
#: stride, padding, dilation, groups, dtype)
TABLE_LAYERS = (
    ("C1 LeNet conv1", (4, 3, 32, 32), (6, 3, 5, 5), 1, 0, 1, 1, "float32"),
    ("C2 LeNet conv2", (4, 6, 14, 14), (16, 6, 5, 5), 1, 0, 1, 1, "float32"),
    ("C3 5x5, 128 -> 256", (1, 128, 100, 100), (256, 128, 5, 5), 1, 2, 1, 1, "float32"),
    ("C4 1x1 bottleneck", (1, 128, 100, 100), (32, 128, 1, 1), 1, 0, 1, 1, "float32"),
    ("C5 ResNet 3x3", (8, 64, 56, 56), (64, 64, 3, 3), 1, 1, 1, 1, "float32"),
    ("C5 in float64", (8, 64, 56, 56), (64, 64, 3, 3), 1, 1, 1, 1, "float64"),
    ("C6 strided 3x3", (8, 64, 56, 56), (128, 64, 3, 3), 2, 1, 1, 1, "float32"),
    ("C7 depthwise 3x3", (8, 128, 56, 56), (128, 1, 3, 3), 1, 1, 1, 128, "float32"),
    ("C8 one channel 15x15", (1, 1, 1024, 1024), (1, 1, 15, 15), 1, 7, 1, 1, "float32"),
    ("C9 one channel 5x5, 4096^2", (1, 1, 4096, 4096), (1, 1, 5, 5), 1, 2, 1, 1, "float32"),
    ("C10 dilated 3x3", (4, 32, 64, 64), (32, 32, 3, 3), 1, 2, 2, 1, "float32"),
    ("ResNet stem 7x7 / 2", (1, 3, 224, 224), (64, 3, 7, 7), 2, 3, 1, 1, "float32"),
    ("ResNet 3x3, 512 channels", (1, 512, 7, 7), (512, 512, 3, 3), 1, 1, 1, 1, "float32"),
    ("MobileNet depthwise 3x3 / 2", (1, 96, 112, 112), (96, 1, 3, 3), 2, 1, 1, 96, "float32"),
    ("MobileNet 1x1 expand", (1, 24, 56, 56), (144, 24, 1, 1), 1, 0, 1, 1, "float32"),
    ("Big kernel, one channel", (1, 1, 2048, 2048), (1, 1, 31, 31), 1, 15, 1, 1, "float32"),
)


def kernel_table(vb: int) -> str:
    """The "which kernel runs when" table (markdown) for vector width ``vb``, planned on one
    thread: docs/architecture.md holds it, and a test regenerates and compares it."""
    from fastconv import _args

    rows = ["| layer | input | weight | stride, pad, dil, groups | dtype | kernel |", "|---|---|---|---|---|---|"]
    for name, xs, ws, s, p, d, g, dt in TABLE_LAYERS:
        x = np.zeros(xs, dt)
        w = np.zeros(ws, dt)
        a = _args.conv2d_args(x, w, None, s, p, d, g, "zeros")
        plan = conv2d(a, "auto", 1, Force(vector_bytes=vb))
        rows.append(f"| {name} | {xs} | {ws} | {s}, {p}, {d}, {g} | {dt} | {plan.kind.name} |")
    return "\n".join(rows)
