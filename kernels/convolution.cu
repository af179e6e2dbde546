// The convolution family for the CUDA backend: the convolution's bias, im2col and its adjoint with the layout changes
// around the convolution GEMMs (the path without cuDNN, as OnePass.Training.Backends.IIm2ColKernels describes), max
// pooling and global average pooling (layouts as in OnePass.Training.Tensors.IConvolutionKernels; images
// N x C x H x W, row-major). One thread per output element in a grid-stride loop; every kernel gathers (no atomics,
// no shared memory, no barriers), so the results do not depend on the launch shape. Kernels whose name says "add"
// accumulate into their output; the others overwrite it.

#define GRID_STRIDE(i, n) for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (long long)(n); i += (long long)blockDim.x * gridDim.x)

// columns[(c*kh + i)*kw + j, (n*ho + oy)*wo + ox] = x[n, c, oy*s + i - p, ox*s + j - p], zero in the padding.
extern "C" __global__ void im2col_f32(int batch, int channels, int height, int width, int kh, int kw, int stride, int padding, int ho, int wo,
    const float* x, float* columns)
{
    long long plane = (long long)ho * wo, count = (long long)batch * plane;
    GRID_STRIDE(e, (long long)channels * kh * kw * count)
    {
        long long r = e / count, col = e - r * count;
        int c = (int)(r / (kh * kw)), i = (int)((r / kw) % kh), j = (int)(r % kw);
        long long n = col / plane, q = col - n * plane;
        int oy = (int)(q / wo), ox = (int)(q - (long long)oy * wo);
        int y = oy * stride + i - padding, xx = ox * stride + j - padding;
        columns[e] = (y >= 0 && y < height && xx >= 0 && xx < width) ? x[((n * channels + c) * height + y) * width + xx] : 0.0f;
    }
}

// dx[n, c, y, x] += the sum of every im2col entry read from it.
extern "C" __global__ void col2im_add_f32(int batch, int channels, int height, int width, int kh, int kw, int stride, int padding, int ho, int wo,
    const float* columns, float* dx)
{
    long long plane = (long long)ho * wo, count = (long long)batch * plane;
    GRID_STRIDE(e, (long long)batch * channels * height * width)
    {
        int xx = (int)(e % width);
        int y = (int)((e / width) % height);
        long long nc = e / ((long long)width * height);
        int c = (int)(nc % channels);
        long long n = nc / channels;
        float sum = 0.0f;
        for (int i = 0; i < kh; i++)
        {
            int ty = y + padding - i;
            if (ty < 0 || ty % stride != 0 || ty / stride >= ho) continue;
            int oy = ty / stride;
            for (int j = 0; j < kw; j++)
            {
                int tx = xx + padding - j;
                if (tx < 0 || tx % stride != 0 || tx / stride >= wo) continue;
                int ox = tx / stride;
                sum += columns[((long long)(c * kh + i) * kw + j) * count + n * plane + (long long)oy * wo + ox];
            }
        }
        dx[e] += sum;
    }
}

// destination[n, c, q] = source[c, n, q] + beta * destination[n, c, q] (beta 0 does not read the destination).
extern "C" __global__ void channel_major_to_batch_major_f32(int batch, int channels, int plane, float beta, const float* source, float* destination)
{
    GRID_STRIDE(e, (long long)batch * channels * plane)
    {
        long long q = e % plane, nc = e / plane;
        int c = (int)(nc % channels);
        long long n = nc / channels;
        float value = source[((long long)c * batch + n) * plane + q];
        destination[e] = beta == 0.0f ? value : value + beta * destination[e];
    }
}

// y[n, c, q] += bias[c] (a convolution's bias, on either convolution path).
extern "C" __global__ void add_channel_bias_f32(int batch, int channels, int plane, const float* bias, float* y)
{
    GRID_STRIDE(e, (long long)batch * channels * plane)
    {
        y[e] += bias[(int)((e / plane) % channels)];
    }
}

// destination[c, n, q] = source[n, c, q].
extern "C" __global__ void batch_major_to_channel_major_f32(int batch, int channels, int plane, const float* source, float* destination)
{
    GRID_STRIDE(e, (long long)batch * channels * plane)
    {
        long long q = e % plane, cn = e / plane;
        long long n = cn % batch;
        int c = (int)(cn / batch);
        destination[e] = source[(n * channels + c) * plane + q];
    }
}

// destination[c, r] += source[r, c] for source [rows, cols].
extern "C" __global__ void add_transposed_f32(int rows, int cols, const float* source, float* destination)
{
    GRID_STRIDE(e, (long long)rows * cols)
    {
        long long c = e / rows, r = e - c * rows;
        destination[e] += source[r * cols + c];
    }
}

// result[c] += sum over n and q of x[n, c, q] (double accumulation, one thread per channel).
extern "C" __global__ void add_channel_sums_f32(int batch, int channels, int plane, const float* x, float* result)
{
    GRID_STRIDE(c, channels)
    {
        double sum = 0.0;
        for (long long n = 0; n < batch; n++)
        {
            const float* run = x + (n * channels + c) * plane;
            for (int q = 0; q < plane; q++) sum += run[q];
        }
        result[c] += (float)sum;
    }
}

// y = the maximum of each k x k window (padding is -inf; the first maximum, or the first NaN, wins); argmax = its
// index within the input plane, as a float.
extern "C" __global__ void max_pool_forward_f32(int planes, int height, int width, int k, int stride, int padding, int ho, int wo,
    const float* x, float* y, float* argmax)
{
    GRID_STRIDE(e, (long long)planes * ho * wo)
    {
        long long plane = e / ((long long)ho * wo);
        int o = (int)(e - plane * ho * wo);
        int oy = o / wo, ox = o - oy * wo;
        int y0 = max(0, oy * stride - padding), y1 = min(height, oy * stride - padding + k);
        int x0 = max(0, ox * stride - padding), x1 = min(width, ox * stride - padding + k);
        const float* input = x + plane * height * width;
        float best = -__int_as_float(0x7f800000);
        int at = y0 * width + x0;
        bool found = false;
        for (int iy = y0; iy < y1 && !found; iy++)
        {
            for (int ix = x0; ix < x1; ix++)
            {
                float v = input[iy * width + ix];
                if (v > best || v != v)
                {
                    best = v;
                    at = iy * width + ix;
                    if (v != v) { found = true; break; }
                }
            }
        }
        y[e] = best;
        argmax[e] = (float)at;
    }
}

// dx[plane, a] += the sum of dy over the windows whose argmax is a (a gather over the windows containing a).
extern "C" __global__ void max_pool_backward_add_f32(int planes, int height, int width, int k, int stride, int padding, int ho, int wo,
    const float* dy, const float* argmax, float* dx)
{
    GRID_STRIDE(e, (long long)planes * height * width)
    {
        long long plane = e / ((long long)height * width);
        int a = (int)(e - plane * height * width);
        int y = a / width, xx = a - y * width;
        int fy = y + padding - k + 1, fx = xx + padding - k + 1;
        int oy0 = fy <= 0 ? 0 : (fy + stride - 1) / stride, oy1 = min(ho - 1, (y + padding) / stride);
        int ox0 = fx <= 0 ? 0 : (fx + stride - 1) / stride, ox1 = min(wo - 1, (xx + padding) / stride);
        const float* index = argmax + plane * ho * wo;
        const float* grad = dy + plane * ho * wo;
        float sum = 0.0f;
        for (int oy = oy0; oy <= oy1; oy++)
        {
            for (int ox = ox0; ox <= ox1; ox++)
            {
                if ((int)index[oy * wo + ox] == a) sum += grad[oy * wo + ox];
            }
        }
        dx[e] += sum;
    }
}

// y[plane, o] = x[plane, argmax[plane, o]].
extern "C" __global__ void max_pool_gather_f32(int planes, int input_plane, int output_plane, const float* x, const float* argmax, float* y)
{
    GRID_STRIDE(e, (long long)planes * output_plane)
    {
        long long plane = e / output_plane;
        y[e] = x[plane * input_plane + (long long)argmax[e]];
    }
}

// y[plane] = mean of x[plane, :] (double accumulation, one thread per plane).
extern "C" __global__ void global_average_pool_forward_f32(int planes, int plane_size, const float* x, float* y)
{
    GRID_STRIDE(p, planes)
    {
        double sum = 0.0;
        const float* run = x + p * plane_size;
        for (int q = 0; q < plane_size; q++) sum += run[q];
        y[p] = (float)(sum / plane_size);
    }
}

// dx[plane, q] += dy[plane] / plane_size.
extern "C" __global__ void global_average_pool_backward_add_f32(int planes, int plane_size, const float* dy, float* dx)
{
    GRID_STRIDE(e, (long long)planes * plane_size)
    {
        dx[e] += dy[e / plane_size] * (1.0f / plane_size);
    }
}
