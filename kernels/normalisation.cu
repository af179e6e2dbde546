// Batch normalisation for the CUDA backend (layouts as in OnePass.Training.Tensors.INormalisationKernels: x is
// [batch, channels, spatial]; saved and running statistics are [mean for every channel, then inverse std / variance]).
// Each rule is a partial-sums kernel (one thread per chunk of a channel, in double), a per-channel kernel that adds
// the chunks and writes the channel's coefficients to coef[channel * 5 + k] (and accumulates the parameter
// gradients), then an elementwise kernel (one thread per element) that applies them. No shared memory, no barriers.
// x_hat = (x - mean) * s with s the saved inverse standard deviation, computed in float as the CPU family does.

#define GRID_STRIDE(i, n) for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (long long)(n); i += (long long)blockDim.x * gridDim.x)

#define ROW(pointer, n, c) ((pointer) + ((long long)(n) * channels + (c)) * spatial)

// Per-channel sums in two stages, so that a channel's M = batch * spatial elements are not summed by one thread:
// batch_norm_partials_f64 has one thread per (channel, chunk) add up `chunk` consecutive elements of the channel
// (in (n, q) order) into partials[(sum * channels + c) * chunks + k], in double; the per-channel kernels then add the
// chunks. Which sums, by mode (u, v, w are the mode's extra inputs; a null one contributes zero):
//   0: x                              1: (x - mean)^2 with mean = saved[c]
//   2: u, x_hat u                     (u = x_tangent)
//   3: u, u x_hat                     (u = dy)
//   4: u, u x_hat, v, x_hat v, u v, w, w x_hat   (u = dy, v = x_tangent, w = dy_tangent)
__device__ __forceinline__ double chunk_sum(const double* partials, int sum, int channels, int c, int chunks)
{
    double total = 0.0;
    const double* run = partials + ((long long)sum * channels + c) * chunks;
    for (int k = 0; k < chunks; k++) total += run[k];
    return total;
}

extern "C" __global__ void batch_norm_partials_f64(int batch, int channels, int spatial, int chunks, int mode, const float* x, const float* saved,
    const float* u, const float* v, const float* w, double* partials)
{
    long long m = (long long)batch * spatial;
    long long length = (m + chunks - 1) / chunks;
    GRID_STRIDE(item, (long long)channels * chunks)
    {
        int c = (int)(item / chunks), k = (int)(item - (long long)c * chunks);
        long long first = (long long)k * length, last = first + length < m ? first + length : m;
        float mean = saved[c], s = saved[channels + c];
        double sums[7] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
        for (long long t = first; t < last; t++)
        {
            long long n = t / spatial, q = t - n * spatial;
            long long e = (n * channels + c) * spatial + q;
            if (mode == 0) { sums[0] += x[e]; continue; }
            if (mode == 1) { float d = x[e] - mean; sums[0] += (double)d * d; continue; }
            float xhat = (x[e] - mean) * s;
            float a = u ? u[e] : 0.0f;
            sums[0] += a;
            sums[1] += (double)a * xhat;
            if (mode == 4)
            {
                float b = v ? v[e] : 0.0f, g = w ? w[e] : 0.0f;
                sums[2] += b;
                sums[3] += (double)xhat * b;
                sums[4] += (double)a * b;
                sums[5] += g;
                sums[6] += (double)g * xhat;
            }
        }
        int count = mode <= 1 ? 1 : (mode == 4 ? 7 : 2);
        for (int i = 0; i < count; i++) partials[((long long)i * channels + c) * chunks + k] = sums[i];
    }
}

// saved[c] = the channel's mean, from mode-0 partials.
extern "C" __global__ void batch_norm_mean_f32(int batch, int channels, int spatial, int chunks, const double* partials, float* saved)
{
    GRID_STRIDE(c, channels)
    {
        saved[c] = (float)(chunk_sum(partials, 0, channels, (int)c, chunks) / ((double)batch * spatial));
    }
}

// saved[channels + c] = 1/sqrt(var + eps) from the mode-1 partials (squares about saved[c]); running statistics (when
// not null) move by momentum towards the mean (from the mode-0 partials, in double) and the unbiased variance.
extern "C" __global__ void batch_norm_variance_f32(int batch, int channels, int spatial, int chunks, float epsilon, float momentum,
    const double* sums, const double* squares, float* saved, float* running)
{
    GRID_STRIDE(c, channels)
    {
        double m = (double)batch * spatial;
        double variance = chunk_sum(squares, 0, channels, (int)c, chunks) / m;
        saved[channels + c] = (float)(1.0 / sqrt(variance + (double)epsilon));
        if (running)
        {
            double unbiased = m > 1.0 ? variance * m / (m - 1.0) : variance;
            double mean = chunk_sum(sums, 0, channels, (int)c, chunks) / m;
            running[c] = (float)((1.0 - momentum) * running[c] + momentum * mean);
            running[channels + c] = (float)((1.0 - momentum) * running[channels + c] + momentum * unbiased);
        }
    }
}

// Running statistics as the saved ones: saved = (mean, 1/sqrt(var + eps)).
extern "C" __global__ void batch_norm_inference_statistics_f32(int channels, float epsilon, const float* running, float* saved)
{
    GRID_STRIDE(c, channels)
    {
        saved[c] = running[c];
        saved[channels + c] = (float)(1.0 / sqrt((double)running[channels + c] + (double)epsilon));
    }
}

// y = (x - mean) * (gamma * s) + beta.
extern "C" __global__ void batch_norm_apply_f32(int batch, int channels, int spatial, const float* x, const float* gamma, const float* beta,
    const float* saved, float* y)
{
    GRID_STRIDE(e, (long long)batch * channels * spatial)
    {
        int c = (int)((e / spatial) % channels);
        float scale = (float)((double)gamma[c] * saved[channels + c]);
        y[e] = (x[e] - saved[c]) * scale + beta[c];
    }
}

// Tangent coefficients: with P = mean(x_hat * x_dot), Q = mean(x_dot) (batch statistics only),
// y_dot = x_hat * (gamma_dot - gamma s P) + (beta_dot - gamma s Q) + gamma s x_dot; coef = (a, b, gamma s).
extern "C" __global__ void batch_norm_forward_tangent_coefficients_f32(int batch, int channels, int spatial, int chunks, int batch_statistics,
    const float* gamma, const float* saved, const double* partials, const float* gamma_tangent, const float* beta_tangent, float* coef)
{
    GRID_STRIDE(c, channels)
    {
        double m = (double)batch * spatial;
        double gs = (double)gamma[c] * saved[channels + c];
        double q = 0.0, p = 0.0;
        if (batch_statistics && partials)
        {
            q = chunk_sum(partials, 0, channels, (int)c, chunks) / m;
            p = chunk_sum(partials, 1, channels, (int)c, chunks) / m;
        }
        coef[c * 5 + 0] = (float)((gamma_tangent ? gamma_tangent[c] : 0.0f) - gs * p);
        coef[c * 5 + 1] = (float)((beta_tangent ? beta_tangent[c] : 0.0f) - gs * q);
        coef[c * 5 + 2] = (float)gs;
    }
}

extern "C" __global__ void batch_norm_forward_tangent_apply_f32(int batch, int channels, int spatial, const float* x, const float* saved,
    const float* x_tangent, const float* coef, float* y_tangent)
{
    GRID_STRIDE(e, (long long)batch * channels * spatial)
    {
        int c = (int)((e / spatial) % channels);
        float xhat = (x[e] - saved[c]) * saved[channels + c];
        float value = xhat * coef[c * 5 + 0] + coef[c * 5 + 1];
        if (x_tangent) value = x_tangent[e] * coef[c * 5 + 2] + value;
        y_tangent[e] = value;
    }
}

// Adjoint, from mode-3 partials: d_beta += sum g, d_gamma += sum g x_hat (when not null); coef = (gamma s, -gamma s B,
// -gamma s A) with A = mean(g), B = mean(g x_hat) through batch statistics (zero otherwise).
extern "C" __global__ void batch_norm_backward_coefficients_f32(int batch, int channels, int spatial, int chunks, int batch_statistics,
    const float* gamma, const float* saved, const double* partials, float* d_gamma, float* d_beta, float* coef)
{
    GRID_STRIDE(c, channels)
    {
        double m = (double)batch * spatial;
        double sum_g = chunk_sum(partials, 0, channels, (int)c, chunks), sum_gx = chunk_sum(partials, 1, channels, (int)c, chunks);
        if (d_beta) d_beta[c] += (float)sum_g;
        if (d_gamma) d_gamma[c] += (float)sum_gx;
        double k = (double)gamma[c] * saved[channels + c];
        coef[c * 5 + 0] = (float)k;
        coef[c * 5 + 1] = batch_statistics ? (float)(-k * sum_gx / m) : 0.0f;
        coef[c * 5 + 2] = batch_statistics ? (float)(-k * sum_g / m) : 0.0f;
    }
}

// dx += g * coef0 + x_hat * coef1 + coef2.
extern "C" __global__ void batch_norm_backward_apply_f32(int batch, int channels, int spatial, int batch_statistics, const float* x,
    const float* saved, const float* dy, const float* coef, float* dx)
{
    GRID_STRIDE(e, (long long)batch * channels * spatial)
    {
        int c = (int)((e / spatial) % channels);
        float value = dy[e] * coef[c * 5 + 0] + dx[e];
        if (batch_statistics)
        {
            float xhat = (x[e] - saved[c]) * saved[channels + c];
            value = xhat * coef[c * 5 + 1] + value;
            value = value + coef[c * 5 + 2];
        }
        dx[e] = value;
    }
}

// R-operator of the adjoint, from mode-4 partials: d_beta_tangent += sum g_dot, d_gamma_tangent += m * B_dot;
// coef = (kG, kGt, kXt, kXhat, k0) for dx_tangent += g kG + g_dot kGt + x_dot kXt + x_hat kXhat + k0 (the last three
// through batch statistics only).
extern "C" __global__ void batch_norm_backward_tangent_coefficients_f32(int batch, int channels, int spatial, int chunks, int batch_statistics,
    const float* gamma, const float* saved, const double* partials, const float* gamma_tangent, float* d_gamma_tangent, float* d_beta_tangent, float* coef)
{
    GRID_STRIDE(c, channels)
    {
        int ch = (int)c;
        double m = (double)batch * spatial;
        double s = saved[channels + c];
        double sum_g = chunk_sum(partials, 0, channels, ch, chunks), sum_g_xhat = chunk_sum(partials, 1, channels, ch, chunks);
        double sum_xt = chunk_sum(partials, 2, channels, ch, chunks), sum_xhat_xt = chunk_sum(partials, 3, channels, ch, chunks);
        double sum_g_xt = chunk_sum(partials, 4, channels, ch, chunks), sum_gt = chunk_sum(partials, 5, channels, ch, chunks);
        double sum_gt_xhat = chunk_sum(partials, 6, channels, ch, chunks);
        double q = sum_xt / m, p = sum_xhat_xt / m, a = sum_g / m, b = sum_g_xhat / m, a_dot = sum_gt / m;
        double mean_g_xhat_dot = batch_statistics ? s * ((sum_g_xt / m) - (q * a) - (p * b)) : s * sum_g_xt / m;
        double b_dot = (sum_gt_xhat / m) + mean_g_xhat_dot;
        if (d_beta_tangent) d_beta_tangent[c] += (float)sum_gt;
        if (d_gamma_tangent) d_gamma_tangent[c] += (float)(m * b_dot);
        double g0 = gamma[c], g0_dot = gamma_tangent ? gamma_tangent[c] : 0.0f;
        double gsc = g0 * s;
        if (batch_statistics)
        {
            double k1 = (g0_dot * s) - (gsc * s * p);
            coef[c * 5 + 0] = (float)k1;
            coef[c * 5 + 2] = (float)(-gsc * s * b);
            coef[c * 5 + 3] = (float)((-k1 * b) + (gsc * s * b * p) - (gsc * b_dot));
            coef[c * 5 + 4] = (float)((-k1 * a) - (gsc * a_dot) + (gsc * s * b * q));
        }
        else
        {
            coef[c * 5 + 0] = (float)(g0_dot * s);
            coef[c * 5 + 2] = 0.0f;
            coef[c * 5 + 3] = 0.0f;
            coef[c * 5 + 4] = 0.0f;
        }
        coef[c * 5 + 1] = (float)gsc;
    }
}

extern "C" __global__ void batch_norm_backward_tangent_apply_f32(int batch, int channels, int spatial, int batch_statistics, const float* x,
    const float* saved, const float* x_tangent, const float* dy, const float* dy_tangent, const float* coef, float* dx_tangent)
{
    GRID_STRIDE(e, (long long)batch * channels * spatial)
    {
        int c = (int)((e / spatial) % channels);
        const float* k = coef + c * 5;
        float value = dx_tangent[e];
        if (k[0] != 0.0f) value = dy[e] * k[0] + value;
        if (dy_tangent) value = dy_tangent[e] * k[1] + value;
        if (batch_statistics)
        {
            if (x_tangent) value = x_tangent[e] * k[2] + value;
            float xhat = (x[e] - saved[c]) * saved[channels + c];
            value = xhat * k[3] + value;
            value = value + k[4];
        }
        dx_tangent[e] = value;
    }
}
