// Elementwise kernels for the CUDA backend. Compiled at run time by NVRTC: no headers.
// Every kernel uses a grid-stride loop, so any grid size is correct; lengths are element counts.

#define GRID_STRIDE(i, n) for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (long long)(n); i += (long long)blockDim.x * gridDim.x)

// Activation codes match OnePass.Training.Tensors.Activation.
#define ACT_RELU 0
#define ACT_TANH 1
#define ACT_SIGMOID 2

// f'(x) in terms of x and y = f(x).
__device__ __forceinline__ float act_derivative(int f, float x, float y)
{
    if (f == ACT_RELU) return x > 0.0f ? 1.0f : 0.0f;
    if (f == ACT_TANH) return 1.0f - y * y;
    return y * (1.0f - y);
}

// f''(x) in terms of y = f(x).
__device__ __forceinline__ float act_second_derivative(int f, float y)
{
    if (f == ACT_RELU) return 0.0f;
    if (f == ACT_TANH) return -2.0f * y * (1.0f - y * y);
    return y * (1.0f - y) * (1.0f - 2.0f * y);
}

extern "C" __global__ void fill_f32(int n, float value, float* x)
{
    GRID_STRIDE(i, n) { x[i] = value; }
}

extern "C" __global__ void axpy_f32(int n, float alpha, const float* x, float* y)
{
    GRID_STRIDE(i, n) { y[i] = fmaf(x[i], alpha, y[i]); }
}

extern "C" __global__ void scale_f32(int n, float alpha, float* x)
{
    GRID_STRIDE(i, n) { x[i] = x[i] * alpha; }
}

// result may alias a or b.
extern "C" __global__ void multiply_f32(int n, const float* a, const float* b, float* result)
{
    GRID_STRIDE(i, n) { result[i] = a[i] * b[i]; }
}

extern "C" __global__ void multiply_add_f32(int n, float alpha, const float* a, const float* b, float* result)
{
    GRID_STRIDE(i, n) { result[i] += alpha * a[i] * b[i]; }
}

// matrix[r, c] += row[c].
extern "C" __global__ void add_row_vector_f32(int rows, int cols, float* matrix, const float* row)
{
    GRID_STRIDE(i, (long long)rows * cols) { matrix[i] += row[i % cols]; }
}

// result[c] += sum_r matrix[r, c]; one thread per column, so neighbouring threads read neighbouring addresses.
extern "C" __global__ void add_column_sums_f32(int rows, int cols, const float* matrix, float* result)
{
    GRID_STRIDE(c, cols)
    {
        float total = 0.0f;
        for (long long r = 0; r < rows; r++) total += matrix[r * cols + c];
        result[c] += total;
    }
}

extern "C" __global__ void activation_forward_f32(int n, int f, const float* x, float* y)
{
    GRID_STRIDE(i, n)
    {
        float v = x[i];
        float out;
        if (f == ACT_RELU) out = (v != v) ? v : (v > 0.0f ? v : 0.0f);
        else if (f == ACT_TANH) out = tanhf(v);
        else out = 1.0f / (1.0f + expf(-v));
        y[i] = out;
    }
}

// dx += f'(x) * dy.
extern "C" __global__ void activation_backward_f32(int n, int f, const float* x, const float* y, const float* dy, float* dx)
{
    GRID_STRIDE(i, n) { dx[i] += act_derivative(f, x[i], y[i]) * dy[i]; }
}

// yt = f'(x) * xt.
extern "C" __global__ void activation_forward_tangent_f32(int n, int f, const float* x, const float* y, const float* xt, float* yt)
{
    GRID_STRIDE(i, n) { yt[i] = act_derivative(f, x[i], y[i]) * xt[i]; }
}

// dxt += f'(x) * dyt + f''(x) * xt * dy; xt may be null (zero).
extern "C" __global__ void activation_backward_tangent_f32(int n, int f, const float* x, const float* y, const float* xt, const float* dy, const float* dyt, float* dxt)
{
    GRID_STRIDE(i, n)
    {
        float value = act_derivative(f, x[i], y[i]) * dyt[i];
        if (xt != 0 && f != ACT_RELU) value += act_second_derivative(f, y[i]) * xt[i] * dy[i];
        dxt[i] += value;
    }
}

extern "C" __global__ void exp10_f32(int n, const float* x, float* y)
{
    GRID_STRIDE(i, n) { y[i] = exp10f(x[i]); }
}

// NaN stays NaN, as on the CPU backend.
extern "C" __global__ void clamp_f32(int n, float lo, float hi, float* x)
{
    GRID_STRIDE(i, n)
    {
        float v = x[i];
        if (v == v) x[i] = fminf(fmaxf(v, lo), hi);
    }
}
