// The recurrent family for the CUDA backend: embedding gather and scatter-add, and the LSTM cell's fused
// elementwise step with its tangent, adjoint and R-operator (the GEMMs around them stay cuBLAS calls). Layouts as in
// OnePass.Training.Tensors.IRecurrentKernels: gates [batch, 4*hidden] in blocks i, f, g, o; states [batch, hidden].
// One thread per (row, unit) element in a grid-stride loop; no shared memory, no barriers.
// Null state pointers mean zero. Token ids are int32; an invalid id cannot throw on the device: the gather writes NaN
// for it and the scatter-add skips it, and both record the first one met in index_error (kind, id, vocabulary,
// position), which the backend checks (and throws on) whenever it synchronises.

#define GRID_STRIDE(i, n) for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (long long)(n); i += (long long)blockDim.x * gridDim.x)

__device__ __forceinline__ float sigmoid_f32(float x) { return 1.0f / (1.0f + expf(-x)); }

// Records the first invalid id met (kind 1: gather, 2: scatter-add) unless one is recorded already.
__device__ __forceinline__ void record_bad_token(int* index_error, int kind, int id, int vocabulary, long long k)
{
    if (index_error != 0 && atomicCAS(index_error, 0, kind) == 0)
    {
        index_error[1] = id;
        index_error[2] = vocabulary;
        index_error[3] = (int)k;
    }
}

// output[k, d] = weight[ids[k], d] for k < count, d < dimension; NaN (and a record) for an id outside [0, vocabulary).
extern "C" __global__ void embedding_gather_f32(int count, int vocabulary, int dimension, const int* ids, const float* weight, float* output, int* index_error)
{
    GRID_STRIDE(e, (long long)count * dimension)
    {
        long long k = e / dimension;
        int d = (int)(e - k * dimension);
        int id = ids[k];
        if (id >= 0 && id < vocabulary)
        {
            output[e] = weight[(long long)id * dimension + d];
        }
        else
        {
            output[e] = __int_as_float(0x7fc00000);
            if (d == 0) record_bad_token(index_error, 1, id, vocabulary, k);
        }
    }
}

// weight_gradient[ids[k], d] += gradient[k, d]; repeated ids accumulate (atomically, in no fixed order); an id
// outside [0, vocabulary) is skipped and recorded.
extern "C" __global__ void embedding_scatter_add_f32(int count, int vocabulary, int dimension, const int* ids, const float* gradient, float* weight_gradient, int* index_error)
{
    GRID_STRIDE(e, (long long)count * dimension)
    {
        long long k = e / dimension;
        int d = (int)(e - k * dimension);
        int id = ids[k];
        if (id >= 0 && id < vocabulary)
        {
            atomicAdd(&weight_gradient[(long long)id * dimension + d], gradient[e]);
        }
        else if (d == 0)
        {
            record_bad_token(index_error, 2, id, vocabulary, k);
        }
    }
}

// One cell step: gates hold pre-activations on entry and activations (i, f, g, o) on return;
// c = f*c_prev + i*g, k = tanh(c), h = o*k.
extern "C" __global__ void lstm_cell_forward_f32(int batch, int hidden, float* gates, const float* previous_cell, float* cell, float* tanh_cell, float* output)
{
    GRID_STRIDE(e, (long long)batch * hidden)
    {
        long long n = e / hidden;
        int j = (int)(e - n * hidden);
        float* row = gates + n * 4 * hidden;
        float i = sigmoid_f32(row[j]);
        float f = sigmoid_f32(row[hidden + j]);
        float g = tanhf(row[2 * hidden + j]);
        float o = sigmoid_f32(row[3 * hidden + j]);
        row[j] = i;
        row[hidden + j] = f;
        row[2 * hidden + j] = g;
        row[3 * hidden + j] = o;
        float c = i * g + (previous_cell ? f * previous_cell[e] : 0.0f);
        float k = tanhf(c);
        cell[e] = c;
        tanh_cell[e] = k;
        output[e] = o * k;
    }
}

// Tangent of a cell step: gate_tangents hold pre-activation tangents on entry and activation tangents on return;
// dc = df*c_prev + f*dc_prev + di*g + i*dg, dh = do*k + o*(1 - k^2)*dc.
extern "C" __global__ void lstm_cell_forward_tangent_f32(int batch, int hidden, const float* gates, const float* previous_cell, const float* tanh_cell,
    const float* previous_cell_tangent, float* gate_tangents, float* cell_tangent, float* output_tangent)
{
    GRID_STRIDE(e, (long long)batch * hidden)
    {
        long long n = e / hidden;
        int j = (int)(e - n * hidden);
        const float* row = gates + n * 4 * hidden;
        float* trow = gate_tangents + n * 4 * hidden;
        float i = row[j], f = row[hidden + j], g = row[2 * hidden + j], o = row[3 * hidden + j];
        float di = i * (1.0f - i) * trow[j];
        float df = f * (1.0f - f) * trow[hidden + j];
        float dg = (1.0f - g * g) * trow[2 * hidden + j];
        float dout = o * (1.0f - o) * trow[3 * hidden + j];
        trow[j] = di;
        trow[hidden + j] = df;
        trow[2 * hidden + j] = dg;
        trow[3 * hidden + j] = dout;
        float dc = di * g + i * dg;
        if (previous_cell) dc += df * previous_cell[e];
        if (previous_cell_tangent) dc += f * previous_cell_tangent[e];
        float k = tanh_cell[e];
        cell_tangent[e] = dc;
        output_tangent[e] = dout * k + o * (1.0f - k * k) * dc;
    }
}

// Adjoint of a cell step: hb = dy + dr, cb = hb*o*(1 - k^2) + carry; gate adjoints before activation; carry = cb*f.
extern "C" __global__ void lstm_cell_backward_f32(int batch, int hidden, const float* gates, const float* previous_cell, const float* tanh_cell,
    const float* output_gradient, const float* recurrent_gradient, float* cell_carry, float* hidden_gradient, float* cell_gradient, float* gate_gradients)
{
    GRID_STRIDE(e, (long long)batch * hidden)
    {
        long long n = e / hidden;
        int j = (int)(e - n * hidden);
        const float* row = gates + n * 4 * hidden;
        float* drow = gate_gradients + n * 4 * hidden;
        float i = row[j], f = row[hidden + j], g = row[2 * hidden + j], o = row[3 * hidden + j];
        float k = tanh_cell[e];
        float hb = output_gradient[e] + (recurrent_gradient ? recurrent_gradient[e] : 0.0f);
        float cb = hb * o * (1.0f - k * k) + cell_carry[e];
        float cp = previous_cell ? previous_cell[e] : 0.0f;
        hidden_gradient[e] = hb;
        cell_gradient[e] = cb;
        drow[j] = cb * g * i * (1.0f - i);
        drow[hidden + j] = cb * cp * f * (1.0f - f);
        drow[2 * hidden + j] = cb * i * (1.0f - g * g);
        drow[3 * hidden + j] = hb * k * o * (1.0f - o);
        cell_carry[e] = cb * f;
    }
}

// R-operator of lstm_cell_backward_f32: writes R{gate adjoints} and, for the previous step, R{cb}*f + cb*df into
// cell_carry_tangent (read first as the R{carry} from the next step).
extern "C" __global__ void lstm_cell_backward_tangent_f32(int batch, int hidden, const float* gates, const float* previous_cell, const float* tanh_cell,
    const float* gate_tangents, const float* previous_cell_tangent, const float* cell_tangent, const float* hidden_gradient, const float* cell_gradient,
    const float* output_gradient_tangent, const float* recurrent_gradient_tangent, float* cell_carry_tangent, float* gate_gradient_tangents)
{
    GRID_STRIDE(e, (long long)batch * hidden)
    {
        long long n = e / hidden;
        int j = (int)(e - n * hidden);
        const float* row = gates + n * 4 * hidden;
        const float* trow = gate_tangents + n * 4 * hidden;
        float* rrow = gate_gradient_tangents + n * 4 * hidden;
        float i = row[j], f = row[hidden + j], g = row[2 * hidden + j], o = row[3 * hidden + j];
        float di = trow[j], df = trow[hidden + j], dg = trow[2 * hidden + j], dout = trow[3 * hidden + j];
        float k = tanh_cell[e], kd = 1.0f - k * k;
        float dk = kd * cell_tangent[e];
        float hb = hidden_gradient[e], cb = cell_gradient[e];
        float cp = previous_cell ? previous_cell[e] : 0.0f;
        float cpt = previous_cell_tangent ? previous_cell_tangent[e] : 0.0f;
        float rhb = (output_gradient_tangent ? output_gradient_tangent[e] : 0.0f) + (recurrent_gradient_tangent ? recurrent_gradient_tangent[e] : 0.0f);
        float rcb = rhb * o * kd + hb * dout * kd - 2.0f * hb * o * k * dk + cell_carry_tangent[e];
        float ib = cb * g, fb = cb * cp, gb = cb * i, ob = hb * k;
        float rib = rcb * g + cb * dg, rfb = rcb * cp + cb * cpt, rgb = rcb * i + cb * di, rob = rhb * k + hb * dk;
        rrow[j] = rib * i * (1.0f - i) + ib * (1.0f - 2.0f * i) * di;
        rrow[hidden + j] = rfb * f * (1.0f - f) + fb * (1.0f - 2.0f * f) * df;
        rrow[2 * hidden + j] = rgb * (1.0f - g * g) - 2.0f * gb * g * dg;
        rrow[3 * hidden + j] = rob * o * (1.0f - o) + ob * (1.0f - 2.0f * o) * dout;
        cell_carry_tangent[e] = rcb * f + cb * df;
    }
}
