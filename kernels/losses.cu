// Loss kernels for the CUDA backend: softmax cross-entropy and mean squared error, with their forward tangents,
// backward rules and backward tangents. Scalar upstream values (dLoss, dLossTangent) are read from one-element
// device buffers. Row-wise kernels give each block whole rows (grid-stride over rows) and need blockDim.x == 256.
// Reductions leave per-block double partials for finish_sum_f64 in reductions.cu.

#define GRID_STRIDE(i, n) for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (long long)(n); i += (long long)blockDim.x * gridDim.x)

__device__ double block_sum_d(double v)
{
    __shared__ double warp_totals[32];
    __shared__ double result;
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
        if (lane == 0) result = v;
    }
    __syncthreads();
    v = result;
    __syncthreads();
    return v; // valid in every thread
}

__device__ float block_max_f(float v)
{
    __shared__ float warp_max[32];
    __shared__ float result;
    int lane = threadIdx.x & 31;
    int warp = threadIdx.x >> 5;
    for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_down_sync(0xffffffffu, v, offset));
    if (lane == 0) warp_max[warp] = v;
    __syncthreads();
    int warps = (blockDim.x + 31) >> 5;
    v = (int)threadIdx.x < warps ? warp_max[threadIdx.x] : -__int_as_float(0x7f800000);
    if (warp == 0)
    {
        for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_down_sync(0xffffffffu, v, offset));
        if (lane == 0) result = v;
    }
    __syncthreads();
    v = result;
    __syncthreads();
    return v; // valid in every thread
}

// The class index of a label stored as a float, or -1 when it is not an integer in [0, classes).
__device__ __forceinline__ int label_index(float value, int classes)
{
    if (!(value >= 0.0f) || !(value < (float)classes)) return -1;
    int label = (int)value;
    return (float)label == value ? label : -1;
}

// probabilities = softmax(logits) row by row; partials[block] = sum over this block's rows of -log p[label].
// An invalid label makes that row's loss NaN (the CPU backend throws instead).
extern "C" __global__ void softmax_xent_forward(int rows, int classes, const float* logits, const float* labels, float* probabilities, double* partials)
{
    double block_total = 0.0;
    for (int r = blockIdx.x; r < rows; r += gridDim.x)
    {
        const float* z = logits + (long long)r * classes;
        float* p = probabilities + (long long)r * classes;
        float m = -__int_as_float(0x7f800000);
        for (int c = threadIdx.x; c < classes; c += blockDim.x) m = fmaxf(m, z[c]);
        m = block_max_f(m);
        double local = 0.0;
        for (int c = threadIdx.x; c < classes; c += blockDim.x)
        {
            float e = expf(z[c] - m);
            p[c] = e;
            local += (double)e;
        }
        double sum = block_sum_d(local);
        float inverse = (float)(1.0 / sum);
        for (int c = threadIdx.x; c < classes; c += blockDim.x) p[c] *= inverse;
        if (threadIdx.x == 0)
        {
            int label = label_index(labels[r], classes);
            block_total += label >= 0 ? log(sum) - (double)(z[label] - m) : __longlong_as_double(0x7ff8000000000000LL);
        }
    }
    if (threadIdx.x == 0) partials[blockIdx.x] = block_total;
}

// partials[block] = sum over this block's rows of (p . zt - zt[label]).
extern "C" __global__ void softmax_xent_forward_tangent(int rows, int classes, const float* probabilities, const float* labels, const float* logits_tangent, double* partials)
{
    double block_total = 0.0;
    for (int r = blockIdx.x; r < rows; r += gridDim.x)
    {
        const float* p = probabilities + (long long)r * classes;
        const float* zt = logits_tangent + (long long)r * classes;
        double local = 0.0;
        for (int c = threadIdx.x; c < classes; c += blockDim.x) local += (double)p[c] * (double)zt[c];
        double dot = block_sum_d(local);
        if (threadIdx.x == 0)
        {
            int label = label_index(labels[r], classes);
            block_total += label >= 0 ? dot - (double)zt[label] : __longlong_as_double(0x7ff8000000000000LL);
        }
    }
    if (threadIdx.x == 0) partials[blockIdx.x] = block_total;
}

// dLogits += dLoss[0] * (p - onehot) / rows.
extern "C" __global__ void softmax_xent_backward(int rows, int classes, const float* probabilities, const float* labels, const float* d_loss, float* d_logits)
{
    float scale = d_loss[0] / (float)rows;
    GRID_STRIDE(i, (long long)rows * classes)
    {
        long long r = i / classes;
        int c = (int)(i - r * classes);
        float value = fmaf(probabilities[i], scale, d_logits[i]);
        if (c == label_index(labels[r], classes)) value -= scale;
        d_logits[i] = value;
    }
}

// dLogitsTangent += dLoss[0] * p (zt - p . zt) / rows + dLossTangent[0] * (p - onehot) / rows; null tangents are zero.
extern "C" __global__ void softmax_xent_backward_tangent(int rows, int classes, const float* probabilities, const float* labels, const float* logits_tangent, const float* d_loss, const float* d_loss_tangent, float* d_logits_tangent)
{
    float scale = d_loss[0] / (float)rows;
    float tangent_scale = d_loss_tangent != 0 ? d_loss_tangent[0] / (float)rows : 0.0f;
    for (int r = blockIdx.x; r < rows; r += gridDim.x)
    {
        const float* p = probabilities + (long long)r * classes;
        float* dt = d_logits_tangent + (long long)r * classes;
        float mean = 0.0f;
        if (logits_tangent != 0)
        {
            const float* zt = logits_tangent + (long long)r * classes;
            double local = 0.0;
            for (int c = threadIdx.x; c < classes; c += blockDim.x) local += (double)p[c] * (double)zt[c];
            mean = (float)block_sum_d(local);
            for (int c = threadIdx.x; c < classes; c += blockDim.x) dt[c] += scale * p[c] * (zt[c] - mean);
        }
        if (d_loss_tangent != 0)
        {
            int label = label_index(labels[r], classes);
            for (int c = threadIdx.x; c < classes; c += blockDim.x)
            {
                float value = fmaf(p[c], tangent_scale, dt[c]);
                if (c == label) value -= tangent_scale;
                dt[c] = value;
            }
        }
    }
}

// partials[block] = sum of (p - t)^2, or of (p - t) * pt when pt is not null.
extern "C" __global__ void mse_partials(int n, const float* prediction, const float* target, const float* prediction_tangent, double* partials)
{
    double total = 0.0;
    GRID_STRIDE(i, n)
    {
        double e = (double)(prediction[i] - target[i]);
        total += prediction_tangent != 0 ? e * (double)prediction_tangent[i] : e * e;
    }
    total = block_sum_d(total);
    if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

// dPrediction += dLoss[0] * 2/n * (p - t).
extern "C" __global__ void mse_backward(int n, const float* prediction, const float* target, const float* d_loss, float* d_prediction)
{
    float scale = 2.0f * d_loss[0] / (float)n;
    GRID_STRIDE(i, n) { d_prediction[i] += scale * (prediction[i] - target[i]); }
}

// dPredictionTangent += dLoss[0] * 2/n * pt + dLossTangent[0] * 2/n * (p - t); null tangents are zero.
extern "C" __global__ void mse_backward_tangent(int n, const float* prediction, const float* target, const float* prediction_tangent, const float* d_loss, const float* d_loss_tangent, float* d_prediction_tangent)
{
    float scale = 2.0f * d_loss[0] / (float)n;
    float tangent_scale = d_loss_tangent != 0 ? 2.0f * d_loss_tangent[0] / (float)n : 0.0f;
    GRID_STRIDE(i, n)
    {
        float value = d_prediction_tangent[i];
        if (prediction_tangent != 0) value = fmaf(prediction_tangent[i], scale, value);
        if (d_loss_tangent != 0) value += tangent_scale * (prediction[i] - target[i]);
        d_prediction_tangent[i] = value;
    }
}
