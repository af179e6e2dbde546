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

// Records the first invalid label met (kind 3) unless an invalid index is recorded already.
__device__ __forceinline__ void record_bad_label(int* index_error, int label, int classes, int row)
{
    if (index_error != 0 && atomicCAS(index_error, 0, 3) == 0)
    {
        index_error[1] = label;
        index_error[2] = classes;
        index_error[3] = row;
    }
}

// probabilities = softmax(logits) row by row; partials[block] = sum over this block's rows of -log p[label].
// A label outside [0, classes) makes that row's loss NaN and is recorded in index_error (kind, label, classes, row),
// which the backend checks whenever it synchronises (the CPU backend throws at once).
extern "C" __global__ void softmax_xent_forward(int rows, int classes, const float* logits, const int* labels, float* probabilities, double* partials, int* index_error)
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
            int label = labels[r];
            if (label >= 0 && label < classes)
            {
                block_total += log(sum) - (double)(z[label] - m);
            }
            else
            {
                block_total += __longlong_as_double(0x7ff8000000000000LL);
                record_bad_label(index_error, label, classes, r);
            }
        }
    }
    if (threadIdx.x == 0) partials[blockIdx.x] = block_total;
}

// partials[block] = sum over this block's rows of (p . zt - zt[label]).
extern "C" __global__ void softmax_xent_forward_tangent(int rows, int classes, const float* probabilities, const int* labels, const float* logits_tangent, double* partials)
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
            int label = labels[r];
            block_total += label >= 0 && label < classes ? dot - (double)zt[label] : __longlong_as_double(0x7ff8000000000000LL);
        }
    }
    if (threadIdx.x == 0) partials[blockIdx.x] = block_total;
}

// dLogits += dLoss[0] * (p - onehot) / rows.
extern "C" __global__ void softmax_xent_backward(int rows, int classes, const float* probabilities, const int* labels, const float* d_loss, float* d_logits)
{
    float scale = d_loss[0] / (float)rows;
    GRID_STRIDE(i, (long long)rows * classes)
    {
        long long r = i / classes;
        int c = (int)(i - r * classes);
        float value = fmaf(probabilities[i], scale, d_logits[i]);
        if (c == labels[r]) value -= scale;
        d_logits[i] = value;
    }
}

// dLogitsTangent += dLoss[0] * p (zt - p . zt) / rows + dLossTangent[0] * (p - onehot) / rows; null tangents are zero.
extern "C" __global__ void softmax_xent_backward_tangent(int rows, int classes, const float* probabilities, const int* labels, const float* logits_tangent, const float* d_loss, const float* d_loss_tangent, float* d_logits_tangent)
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
            int label = labels[r];
            for (int c = threadIdx.x; c < classes; c += blockDim.x)
            {
                float value = fmaf(p[c], tangent_scale, dt[c]);
                if (c == label) value -= tangent_scale;
                dt[c] = value;
            }
        }
    }
}

// The index of the first largest value of each row, a NaN counting as the largest (the first NaN wins), as
// torch.argmax. One thread per row: no shared memory or barriers. Writes argmax[r] when argmax is not null; when
// labels is not null, adds to *correct the number of rows whose argmax equals their label (an invalid label never
// does).
extern "C" __global__ void argmax_rows_i32(int rows, int classes, const float* logits, int* argmax, const int* labels, unsigned long long* correct)
{
    unsigned long long matches = 0;
    GRID_STRIDE(r, rows)
    {
        const float* z = logits + r * classes;
        int best = 0;
        float max = z[0];
        if (max == max)
        {
            for (int c = 1; c < classes; c++)
            {
                float v = z[c];
                if (v != v) { best = c; break; }
                if (v > max) { max = v; best = c; }
            }
        }
        if (argmax != 0) argmax[r] = best;
        if (labels != 0 && labels[r] == best) matches++;
    }
    if (correct != 0 && matches != 0) atomicAdd(correct, matches);
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
