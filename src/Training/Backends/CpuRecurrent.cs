using System.Numerics.Tensors;
using OnePass.Training.Tensors;

namespace OnePass.Training.Backends;

/// <summary>
/// The recurrent family on the CPU: embedding gather and scatter-add, and the LSTM cell's fused elementwise step
/// with its tangent, adjoint and R-operator (the GEMMs around them are the backend's). Each kernel is one pass over
/// the batch rows; rows never share an output element (the scatter-add excepted, which stays on one thread).
/// </summary>
internal sealed class CpuRecurrent : IRecurrentKernels
{
    private static CpuBuffer Cpu(DeviceBuffer buffer) =>
        buffer as CpuBuffer ?? throw new ArgumentException($"buffer of type {buffer.GetType().Name} was not allocated by the CPU backend");

    private static ReadOnlySpan<float> Read(DeviceBuffer? buffer) => buffer is null ? default : Cpu(buffer).Span;

    private static void Need(DeviceBuffer? buffer, long length, string name)
    {
        if (buffer is not null && buffer.Length < length)
        {
            throw new ArgumentException($"{name} holds {buffer.Length} elements; {length} are needed");
        }
    }

    private static int Id(float value, int position, int vocabulary)
    {
        int id = (int)value;
        if (id != value || id < 0 || id >= vocabulary)
        {
            throw new ArgumentException($"token id {value} at position {position} is not an integer in [0, {vocabulary})");
        }

        return id;
    }

    /// <inheritdoc />
    public void EmbeddingGather(DeviceBuffer ids, DeviceBuffer weight, int vocabulary, int dimension, DeviceBuffer output)
    {
        Need(weight, (long)vocabulary * dimension, "embedding weight");
        Need(output, (long)ids.Length * dimension, "embedding output");
        ReadOnlySpan<float> id = Cpu(ids).Span, w = Cpu(weight).Span;
        Span<float> y = Cpu(output).Span;
        for (int k = 0; k < id.Length; k++)
        {
            w.Slice(Id(id[k], k, vocabulary) * dimension, dimension).CopyTo(y.Slice(k * dimension, dimension));
        }
    }

    /// <inheritdoc />
    public void EmbeddingScatterAdd(DeviceBuffer ids, DeviceBuffer gradient, int vocabulary, int dimension, DeviceBuffer weightGradient)
    {
        Need(weightGradient, (long)vocabulary * dimension, "embedding weight gradient");
        Need(gradient, (long)ids.Length * dimension, "embedding output gradient");
        ReadOnlySpan<float> id = Cpu(ids).Span, dy = Cpu(gradient).Span;
        Span<float> dw = Cpu(weightGradient).Span;
        for (int k = 0; k < id.Length; k++)
        {
            Span<float> row = dw.Slice(Id(id[k], k, vocabulary) * dimension, dimension);
            TensorPrimitives.Add(row, dy.Slice(k * dimension, dimension), row);
        }
    }

    private static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    /// <inheritdoc />
    public void LstmCellForward(DeviceBuffer gates, DeviceBuffer? previousCell, int batch, int hidden, DeviceBuffer cell, DeviceBuffer tanhCell, DeviceBuffer output)
    {
        int hh = hidden;
        Need(gates, 4L * batch * hh, "gates");
        Need(previousCell, (long)batch * hh, "previous cell");
        Span<float> a = Cpu(gates).Span, c = Cpu(cell).Span, k = Cpu(tanhCell).Span, h = Cpu(output).Span;
        ReadOnlySpan<float> cp = Read(previousCell);
        for (int n = 0; n < batch; n++)
        {
            Span<float> row = a.Slice(n * 4 * hh, 4 * hh);
            for (int j = 0; j < hh; j++)
            {
                float i = Sigmoid(row[j]), f = Sigmoid(row[hh + j]), g = MathF.Tanh(row[(2 * hh) + j]), o = Sigmoid(row[(3 * hh) + j]);
                row[j] = i;
                row[hh + j] = f;
                row[(2 * hh) + j] = g;
                row[(3 * hh) + j] = o;
                int e = (n * hh) + j;
                float cv = (i * g) + (cp.IsEmpty ? 0f : f * cp[e]);
                float kv = MathF.Tanh(cv);
                c[e] = cv;
                k[e] = kv;
                h[e] = o * kv;
            }
        }
    }

    /// <inheritdoc />
    public void LstmCellForwardTangent(DeviceBuffer gates, DeviceBuffer? previousCell, DeviceBuffer tanhCell, DeviceBuffer? previousCellTangent,
        int batch, int hidden, DeviceBuffer gateTangents, DeviceBuffer cellTangent, DeviceBuffer outputTangent)
    {
        int hh = hidden;
        Need(gateTangents, 4L * batch * hh, "gate tangents");
        ReadOnlySpan<float> a = Cpu(gates).Span, k = Cpu(tanhCell).Span, cp = Read(previousCell), cpt = Read(previousCellTangent);
        Span<float> at = Cpu(gateTangents).Span, ct = Cpu(cellTangent).Span, ht = Cpu(outputTangent).Span;
        for (int n = 0; n < batch; n++)
        {
            ReadOnlySpan<float> row = a.Slice(n * 4 * hh, 4 * hh);
            Span<float> trow = at.Slice(n * 4 * hh, 4 * hh);
            for (int j = 0; j < hh; j++)
            {
                float i = row[j], f = row[hh + j], g = row[(2 * hh) + j], o = row[(3 * hh) + j];
                float di = i * (1f - i) * trow[j];
                float df = f * (1f - f) * trow[hh + j];
                float dg = (1f - (g * g)) * trow[(2 * hh) + j];
                float dout = o * (1f - o) * trow[(3 * hh) + j];
                trow[j] = di;
                trow[hh + j] = df;
                trow[(2 * hh) + j] = dg;
                trow[(3 * hh) + j] = dout;
                int e = (n * hh) + j;
                float dc = (di * g) + (i * dg);
                if (!cp.IsEmpty)
                {
                    dc += df * cp[e];
                }

                if (!cpt.IsEmpty)
                {
                    dc += f * cpt[e];
                }

                float kv = k[e];
                ct[e] = dc;
                ht[e] = (dout * kv) + (o * (1f - (kv * kv)) * dc);
            }
        }
    }

    /// <inheritdoc />
    public void LstmCellBackward(DeviceBuffer gates, DeviceBuffer? previousCell, DeviceBuffer tanhCell, DeviceBuffer outputGradient,
        DeviceBuffer? recurrentGradient, int batch, int hidden, DeviceBuffer cellCarry, DeviceBuffer hiddenGradient, DeviceBuffer cellGradient,
        DeviceBuffer gateGradients)
    {
        int hh = hidden;
        ReadOnlySpan<float> a = Cpu(gates).Span, k = Cpu(tanhCell).Span, cp = Read(previousCell), dy = Cpu(outputGradient).Span, dr = Read(recurrentGradient);
        Span<float> carry = Cpu(cellCarry).Span, dh = Cpu(hiddenGradient).Span, dc = Cpu(cellGradient).Span, da = Cpu(gateGradients).Span;
        for (int n = 0; n < batch; n++)
        {
            ReadOnlySpan<float> row = a.Slice(n * 4 * hh, 4 * hh);
            Span<float> drow = da.Slice(n * 4 * hh, 4 * hh);
            for (int j = 0; j < hh; j++)
            {
                float i = row[j], f = row[hh + j], g = row[(2 * hh) + j], o = row[(3 * hh) + j];
                int e = (n * hh) + j;
                float kv = k[e];
                float hb = dy[e] + (dr.IsEmpty ? 0f : dr[e]);
                float cb = (hb * o * (1f - (kv * kv))) + carry[e];
                float cpv = cp.IsEmpty ? 0f : cp[e];
                dh[e] = hb;
                dc[e] = cb;
                drow[j] = cb * g * i * (1f - i);
                drow[hh + j] = cb * cpv * f * (1f - f);
                drow[(2 * hh) + j] = cb * i * (1f - (g * g));
                drow[(3 * hh) + j] = hb * kv * o * (1f - o);
                carry[e] = cb * f;
            }
        }
    }

    /// <inheritdoc />
    public void LstmCellBackwardTangent(DeviceBuffer gates, DeviceBuffer? previousCell, DeviceBuffer tanhCell, DeviceBuffer gateTangents,
        DeviceBuffer? previousCellTangent, DeviceBuffer cellTangent, DeviceBuffer hiddenGradient, DeviceBuffer cellGradient,
        DeviceBuffer? outputGradientTangent, DeviceBuffer? recurrentGradientTangent, int batch, int hidden, DeviceBuffer cellCarryTangent,
        DeviceBuffer gateGradientTangents)
    {
        int hh = hidden;
        ReadOnlySpan<float> a = Cpu(gates).Span, k = Cpu(tanhCell).Span, cp = Read(previousCell), at = Cpu(gateTangents).Span;
        ReadOnlySpan<float> cpt = Read(previousCellTangent), ct = Cpu(cellTangent).Span, dh = Cpu(hiddenGradient).Span, dc = Cpu(cellGradient).Span;
        ReadOnlySpan<float> rdy = Read(outputGradientTangent), rdr = Read(recurrentGradientTangent);
        Span<float> rcarry = Cpu(cellCarryTangent).Span, rda = Cpu(gateGradientTangents).Span;
        for (int n = 0; n < batch; n++)
        {
            ReadOnlySpan<float> row = a.Slice(n * 4 * hh, 4 * hh), trow = at.Slice(n * 4 * hh, 4 * hh);
            Span<float> rrow = rda.Slice(n * 4 * hh, 4 * hh);
            for (int j = 0; j < hh; j++)
            {
                float i = row[j], f = row[hh + j], g = row[(2 * hh) + j], o = row[(3 * hh) + j];
                float di = trow[j], df = trow[hh + j], dg = trow[(2 * hh) + j], dout = trow[(3 * hh) + j];
                int e = (n * hh) + j;
                float kv = k[e], kd = 1f - (kv * kv);
                float dk = kd * ct[e];
                float hb = dh[e], cb = dc[e];
                float cpv = cp.IsEmpty ? 0f : cp[e], cptv = cpt.IsEmpty ? 0f : cpt[e];

                // R{h̄} = R{ȳ} + R{recurrent carry}; R{c̄} = R{h̄}·o·k' + h̄·ȯ·k' − 2·h̄·o·k·k̇ + R{c̄ carry}
                float rhb = (rdy.IsEmpty ? 0f : rdy[e]) + (rdr.IsEmpty ? 0f : rdr[e]);
                float rcb = (rhb * o * kd) + (hb * dout * kd) - (2f * hb * o * kv * dk) + rcarry[e];

                // gate adjoints before the activation and their tangents
                float ib = cb * g, fb = cb * cpv, gb = cb * i, ob = hb * kv;
                float rib = (rcb * g) + (cb * dg), rfb = (rcb * cpv) + (cb * cptv), rgb = (rcb * i) + (cb * di), rob = (rhb * kv) + (hb * dk);
                rrow[j] = (rib * i * (1f - i)) + (ib * (1f - (2f * i)) * di);
                rrow[hh + j] = (rfb * f * (1f - f)) + (fb * (1f - (2f * f)) * df);
                rrow[(2 * hh) + j] = (rgb * (1f - (g * g))) - (2f * gb * g * dg);
                rrow[(3 * hh) + j] = (rob * o * (1f - o)) + (ob * (1f - (2f * o)) * dout);
                rcarry[e] = (rcb * f) + (cb * df);
            }
        }
    }
}
