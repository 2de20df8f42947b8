# The convolution geometry the drivers hand to the kernels (include/fastconv/geom.h).
from fastconv._kernels cimport fc_conv_geom
from fastconv._types cimport real_t


cdef inline void geometry(fc_conv_geom *g, const real_t[:, :, :, :] x, const real_t[:, :, :, :] w,
                          Py_ssize_t Ho, Py_ssize_t Wo, a):
    """The fields of g common to every kind, from the arrays, the output plane and the layer ``a``
    (:class:`fastconv._args.ConvArgs`: stride, dilation, padding, mode); the packed layout's
    fields are zero."""
    cdef Py_ssize_t isz = sizeof(real_t)
    stride, dilation, pads = a.stride, a.dilation, a.pads
    g.C = w.shape[1]; g.H = x.shape[2]; g.W = x.shape[3]
    g.xsC = x.strides[1] // isz; g.xsH = x.strides[2] // isz; g.xsW = x.strides[3] // isz
    g.kH = w.shape[2]; g.kW = w.shape[3]
    g.sh = stride[0]; g.sw = stride[1]; g.dh = dilation[0]; g.dw = dilation[1]
    g.Ho = Ho; g.Wo = Wo; g.pt = pads[0]; g.pl = pads[2]
    g.Wp = 0
    g.mode = a.mode
    g.npha = 0; g.pstart = NULL; g.Wq = 0; g.xoff = NULL; g.rstep = 0
    g.osH = g.Wo; g.osW = 1  # a C-contiguous result (the channel-lane driver may change it)
    g.skip_rows = 0; g.flat_oh0 = -1; g.stream = 0
