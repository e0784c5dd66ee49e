// grid_sample: bilinear sampling of NCHW images at normalised (x, y) locations with zero padding, as
// torch.nn.functional.grid_sample(mode='bilinear', padding_mode='zeros'). EG3D's tri-plane sampler.
// Kernels (channels-last, fast and reference): Kernels/GridSampleKernels.swift.

/// Samples `x` (N, C, H, W) at `grid` (N, Ho, Wo, 2), whose last axis holds (x, y) in [-1, 1]
/// (-1: left/top edge; with `alignCorners` the centres of the corner pixels, else their outer edges).
/// Locations outside read zeros. Returns (N, C, Ho, Wo). Gradients flow to `x` and `grid`
/// (first order only: differentiating the backward again, `createGraph`, stops with an error).
///
/// The result is stored channels-last: it is a permuted view (strides (Ho·Wo·C, 1, Wo·C, C)), so that
/// `.permute([0, 2, 3, 1])` is free; call `contiguous()` when dense NCHW memory is needed. An `x` that is
/// itself a channels-last view (`y.permute([0, 3, 1, 2])` of a dense (N, H, W, C) tensor) is read in place.
public func gridSample(_ x: Tensor, _ grid: Tensor, alignCorners: Bool = false) -> Tensor {
    require(x.rank == 4, "gridSample: input must be (N, C, H, W), got \(x.shape)")
    require(grid.rank == 4 && grid.shape[0] == x.shape[0] && grid.shape[3] == 2,
            "gridSample: grid must be (N, Ho, Wo, 2) with N = \(x.shape[0]), got \(grid.shape) for input \(x.shape)")
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (ho, wo) = (grid.shape[1], grid.shape[2])
    let xl = channelsLast(x), gc = withNoGrad { grid.contiguous() }
    let store = Tensor(uninitializedShape: [n, ho, wo, c])
    withExtendedLifetime((xl, gc)) {
        gridSampleForward(xl.data, n: n, h: h, w: w, c: c, gc.data, points: ho * wo, alignCorners: alignCorners, store.data)
    }
    let out = Tensor(storage: store.storage, shape: [n, c, ho, wo], strides: [ho * wo * c, 1, wo * c, c])
    return out.recorded("grid_sampler_2d", [x, grid]) { g, needs in
        require(!GradMode.isEnabled,
                "gridSample: double backward is not implemented (the backward of grid_sampler_2d was called with createGraph)")
        let gl = channelsLast(g)
        let dxStore = needs[0] ? Tensor(uninitializedShape: [n, h, w, c]) : nil
        let dgrid = needs[1] ? Tensor(uninitializedShape: [n, ho, wo, 2]) : nil
        withExtendedLifetime((xl, gc, gl)) {
            gridSampleBackward(xl.data, n: n, h: h, w: w, c: c, gc.data, points: ho * wo, alignCorners: alignCorners,
                               gl.data, dx: dxStore?.data, dgrid: dgrid?.data)
        }
        let dx = dxStore.map { Tensor(storage: $0.storage, shape: [n, c, h, w], strides: [h * w * c, 1, w * c, c]) }
        return [dx, dgrid]
    }
}

/// A dense (N, H, W, C) tensor with the values of the (N, C, H, W) `t` (a view when `t` already is one).
func channelsLast(_ t: Tensor) -> Tensor {
    withNoGrad {
        let v = t.permute([0, 2, 3, 1])
        return v.isContiguous ? v : v.contiguous()
    }
}
