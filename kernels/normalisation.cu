// Batch normalisation for the CUDA backend (layouts as in OnePass.Training.Tensors.INormalisationKernels: x is
// [batch, channels, spatial]; saved and running statistics are [mean for every channel, then inverse std / variance]).
// Each rule is two launches: a per-channel kernel (one thread per channel, sums in double) that writes the channel's
// coefficients to coef[channel * 5 + k] (and accumulates the parameter gradients), then an elementwise kernel (one
// thread per element) that applies them. No shared memory and no barriers.
// x_hat = (x - mean) * s with s the saved inverse standard deviation, computed in float as the CPU family does.

#define GRID_STRIDE(i, n) for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (long long)(n); i += (long long)blockDim.x * gridDim.x)

#define ROW(pointer, n, c) ((pointer) + ((long long)(n) * channels + (c)) * spatial)

// Batch statistics: saved = (mean, 1/sqrt(var + eps)); running statistics (when not null) move by momentum towards
// the mean and the unbiased variance.
extern "C" __global__ void batch_norm_statistics_f32(int batch, int channels, int spatial, float epsilon, float momentum, const float* x,
    float* saved, float* running)
{
    GRID_STRIDE(c, channels)
    {
        double m = (double)batch * spatial;
        double sum = 0.0;
        for (int n = 0; n < batch; n++)
        {
            const float* row = ROW(x, n, c);
            for (int q = 0; q < spatial; q++) sum += row[q];
        }
        float mean = (float)(sum / m);
        double squares = 0.0;
        for (int n = 0; n < batch; n++)
        {
            const float* row = ROW(x, n, c);
            for (int q = 0; q < spatial; q++) { float d = row[q] - mean; squares += (double)d * d; }
        }
        double variance = squares / m;
        saved[c] = mean;
        saved[channels + c] = (float)(1.0 / sqrt(variance + (double)epsilon));
        if (running)
        {
            double unbiased = m > 1.0 ? variance * m / (m - 1.0) : variance;
            running[c] = (float)((1.0 - momentum) * running[c] + momentum * (sum / m));
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
extern "C" __global__ void batch_norm_forward_tangent_coefficients_f32(int batch, int channels, int spatial, int batch_statistics,
    const float* x, const float* gamma, const float* saved, const float* x_tangent, const float* gamma_tangent, const float* beta_tangent, float* coef)
{
    GRID_STRIDE(c, channels)
    {
        double m = (double)batch * spatial;
        float mean = saved[c], s = saved[channels + c];
        double gs = (double)gamma[c] * s;
        double q = 0.0, p = 0.0;
        if (batch_statistics && x_tangent)
        {
            for (int n = 0; n < batch; n++)
            {
                const float* row = ROW(x, n, c);
                const float* trow = ROW(x_tangent, n, c);
                for (int k = 0; k < spatial; k++)
                {
                    float xhat = (row[k] - mean) * s;
                    q += trow[k];
                    p += (double)xhat * trow[k];
                }
            }
            q /= m;
            p /= m;
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

// Adjoint: d_beta += sum g, d_gamma += sum g x_hat (when not null); coef = (gamma s, -gamma s B, -gamma s A) with
// A = mean(g), B = mean(g x_hat) through batch statistics (zero otherwise).
extern "C" __global__ void batch_norm_backward_coefficients_f32(int batch, int channels, int spatial, int batch_statistics,
    const float* x, const float* gamma, const float* saved, const float* dy, float* d_gamma, float* d_beta, float* coef)
{
    GRID_STRIDE(c, channels)
    {
        double m = (double)batch * spatial;
        float mean = saved[c], s = saved[channels + c];
        double sum_g = 0.0, sum_gx = 0.0;
        for (int n = 0; n < batch; n++)
        {
            const float* row = ROW(x, n, c);
            const float* grow = ROW(dy, n, c);
            for (int k = 0; k < spatial; k++)
            {
                sum_g += grow[k];
                sum_gx += (double)grow[k] * ((row[k] - mean) * s);
            }
        }
        if (d_beta) d_beta[c] += (float)sum_g;
        if (d_gamma) d_gamma[c] += (float)sum_gx;
        double k = (double)gamma[c] * s;
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

// R-operator of the adjoint: d_beta_tangent += sum g_dot, d_gamma_tangent += m * B_dot; coef = (kG, kGt, kXt, kXhat, k0)
// for dx_tangent += g kG + g_dot kGt + x_dot kXt + x_hat kXhat + k0 (the last three through batch statistics only).
extern "C" __global__ void batch_norm_backward_tangent_coefficients_f32(int batch, int channels, int spatial, int batch_statistics,
    const float* x, const float* gamma, const float* saved, const float* x_tangent, const float* gamma_tangent, const float* dy,
    const float* dy_tangent, float* d_gamma_tangent, float* d_beta_tangent, float* coef)
{
    GRID_STRIDE(c, channels)
    {
        double m = (double)batch * spatial;
        float mean = saved[c];
        double s = saved[channels + c];
        double sum_xt = 0.0, sum_xhat_xt = 0.0, sum_g = 0.0, sum_g_xhat = 0.0, sum_gt = 0.0, sum_gt_xhat = 0.0, sum_g_xt = 0.0;
        for (int n = 0; n < batch; n++)
        {
            const float* row = ROW(x, n, c);
            const float* grow = ROW(dy, n, c);
            for (int k = 0; k < spatial; k++)
            {
                float xhat = (row[k] - mean) * (float)s;
                float g = grow[k];
                sum_g += g;
                sum_g_xhat += (double)g * xhat;
                if (x_tangent)
                {
                    float xt = ROW(x_tangent, n, c)[k];
                    sum_xt += xt;
                    sum_xhat_xt += (double)xhat * xt;
                    sum_g_xt += (double)g * xt;
                }
                if (dy_tangent)
                {
                    float gt = ROW(dy_tangent, n, c)[k];
                    sum_gt += gt;
                    sum_gt_xhat += (double)gt * xhat;
                }
            }
        }
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
