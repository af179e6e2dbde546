// Reductions for the CUDA backend: per-block partial sums in double, then one block finishes.
// Launch with blockDim.x == 256 (a multiple of 32 is required by block_sum).

#define GRID_STRIDE(i, n) for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (long long)(n); i += (long long)blockDim.x * gridDim.x)

// Sum of v over the block; the result is valid in thread 0. Every thread of the block must call it.
__device__ double block_sum(double v)
{
    __shared__ double warp_totals[32];
    int lane = threadIdx.x & 31;
    int warp = threadIdx.x >> 5;
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
    if (lane == 0) warp_totals[warp] = v;
    __syncthreads();
    int warps = (blockDim.x + 31) >> 5;
    v = (int)threadIdx.x < warps ? warp_totals[threadIdx.x] : 0.0;
    if (warp == 0)
    {
        for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
    }
    __syncthreads();
    return v;
}

// partials[block] = sum over this block's share of x[i] * y[i] (y null: x[i]).
extern "C" __global__ void dot_partials_f64(int n, const float* x, const float* y, double* partials)
{
    double total = 0.0;
    GRID_STRIDE(i, n) { total += y != 0 ? (double)x[i] * (double)y[i] : (double)x[i]; }
    total = block_sum(total);
    if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

// Launch with one block: total = scale * sum(partials[0..count)); written as double and/or float (null skips).
extern "C" __global__ void finish_sum_f64(int count, const double* partials, double scale, double* out_double, float* out_float)
{
    double total = 0.0;
    for (int i = threadIdx.x; i < count; i += blockDim.x) total += partials[i];
    total = block_sum(total);
    if (threadIdx.x == 0)
    {
        total *= scale;
        if (out_double != 0) out_double[0] = total;
        if (out_float != 0) out_float[0] = (float)total;
    }
}

// flag[0] = 1 when any element is NaN or infinite (flag is zeroed by the caller).
extern "C" __global__ void any_nonfinite_f32(int n, const float* x, unsigned int* flag)
{
    GRID_STRIDE(i, n)
    {
        if ((__float_as_uint(x[i]) & 0x7f800000u) == 0x7f800000u) flag[0] = 1u;
    }
}
