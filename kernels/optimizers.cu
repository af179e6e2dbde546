// Fused update kernels for the CUDA backend.

#define GRID_STRIDE(i, n) for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (long long)(n); i += (long long)blockDim.x * gridDim.x)

// SGD with momentum and weight decay (PyTorch semantics): d = g + wd*w; b = mu*b + d; w -= lr*b.
// Each hyperparameter is per element when its pointer is not null, else the scalar.
extern "C" __global__ void sgd_momentum_f32(int n, float* weights, const float* gradient, float* velocity,
    const float* lr, float lr_scalar, const float* wd, float wd_scalar, const float* mu, float mu_scalar)
{
    GRID_STRIDE(i, n)
    {
        float w = weights[i];
        float d = gradient[i] + (wd != 0 ? wd[i] : wd_scalar) * w;
        float v = (mu != 0 ? mu[i] : mu_scalar) * velocity[i] + d;
        velocity[i] = v;
        weights[i] = w - (lr != 0 ? lr[i] : lr_scalar) * v;
    }
}

// One bias-corrected Adam step; step_size = lr / (1 - beta1^t) and root_correction2 = sqrt(1 - beta2^t) come from the host.
extern "C" __global__ void adam_step_f32(int n, float* parameters, const float* gradient, float* first_moment, float* second_moment,
    float beta1, float beta2, float epsilon, float step_size, float root_correction2)
{
    GRID_STRIDE(i, n)
    {
        float g = gradient[i];
        float m = beta1 * first_moment[i] + (1.0f - beta1) * g;
        float v = beta2 * second_moment[i] + (1.0f - beta2) * g * g;
        first_moment[i] = m;
        second_moment[i] = v;
        parameters[i] -= step_size * m / (sqrtf(v) / root_correction2 + epsilon);
    }
}
