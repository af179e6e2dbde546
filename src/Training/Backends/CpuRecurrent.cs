using System.Numerics;
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

    private static int Id(int id, int position, int vocabulary)
    {
        if ((uint)id >= (uint)vocabulary)
        {
            throw new ArgumentException($"token id {id} at position {position} is not in [0, {vocabulary})");
        }

        return id;
    }

    /// <inheritdoc />
    public void EmbeddingGather(IndexBuffer ids, DeviceBuffer weight, int vocabulary, int dimension, DeviceBuffer output)
    {
        Need(weight, (long)vocabulary * dimension, "embedding weight");
        Need(output, (long)ids.Length * dimension, "embedding output");
        ReadOnlySpan<int> id = CpuBackend.Ids(ids);
        ReadOnlySpan<float> w = Cpu(weight).Span;
        Span<float> y = Cpu(output).Span;
        for (int k = 0; k < id.Length; k++)
        {
            w.Slice(Id(id[k], k, vocabulary) * dimension, dimension).CopyTo(y.Slice(k * dimension, dimension));
        }
    }

    /// <inheritdoc />
    public void EmbeddingScatterAdd(IndexBuffer ids, DeviceBuffer gradient, int vocabulary, int dimension, DeviceBuffer weightGradient)
    {
        Need(weightGradient, (long)vocabulary * dimension, "embedding weight gradient");
        Need(gradient, (long)ids.Length * dimension, "embedding output gradient");
        ReadOnlySpan<int> id = CpuBackend.Ids(ids);
        ReadOnlySpan<float> dy = Cpu(gradient).Span;
        Span<float> dw = Cpu(weightGradient).Span;
        for (int k = 0; k < id.Length; k++)
        {
            Span<float> row = dw.Slice(Id(id[k], k, vocabulary) * dimension, dimension);
            TensorPrimitives.Add(row, dy.Slice(k * dimension, dimension), row);
        }
    }

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
            // Gate activations in place (vectorised sigmoid and tanh over each gate's run of H values), then
            // c = i⊙g + f⊙c₋₁, k = tanh(c), h = o⊙k.
            Span<float> row = a.Slice(n * 4 * hh, 4 * hh);
            Span<float> ifGates = row[..(2 * hh)], g = row.Slice(2 * hh, hh), o = row.Slice(3 * hh, hh);
            TensorPrimitives.Sigmoid(ifGates, ifGates);
            TensorPrimitives.Tanh(g, g);
            TensorPrimitives.Sigmoid(o, o);
            Span<float> cRow = c.Slice(n * hh, hh), kRow = k.Slice(n * hh, hh);
            TensorPrimitives.Multiply(row[..hh], g, cRow);
            if (!cp.IsEmpty)
            {
                TensorPrimitives.FusedMultiplyAdd(row.Slice(hh, hh), cp.Slice(n * hh, hh), cRow, cRow);
            }

            TensorPrimitives.Tanh(cRow, kRow);
            TensorPrimitives.Multiply(o, kRow, h.Slice(n * hh, hh));
        }
    }

    // Vector<float> lanes: the elementwise LSTM kernels run whole vectors along j, then finish the row one element at a time.
    private static readonly int Lanes = Vector<float>.Count;

    /// <inheritdoc />
    public unsafe void LstmCellForwardTangent(DeviceBuffer gates, DeviceBuffer? previousCell, DeviceBuffer tanhCell, DeviceBuffer? previousCellTangent,
        int batch, int hidden, DeviceBuffer gateTangents, DeviceBuffer cellTangent, DeviceBuffer outputTangent)
    {
        int hh = hidden;
        Need(gateTangents, 4L * batch * hh, "gate tangents");
        ReadOnlySpan<float> a = Cpu(gates).Span, k = Cpu(tanhCell).Span, cp = Read(previousCell), cpt = Read(previousCellTangent);
        Span<float> at = Cpu(gateTangents).Span, ct = Cpu(cellTangent).Span, ht = Cpu(outputTangent).Span;
        Need(gates, 4L * batch * hh, "gates");
        Need(previousCell, (long)batch * hh, "previous cell");
        Need(previousCellTangent, (long)batch * hh, "previous cell tangent");
        Need(tanhCell, (long)batch * hh, "tanh cell");
        Need(cellTangent, (long)batch * hh, "cell tangent");
        Need(outputTangent, (long)batch * hh, "output tangent");
        bool hasCp = !cp.IsEmpty, hasCpt = !cpt.IsEmpty;
        fixed (float* pa = a, pk = k, pcp = cp, pcpt = cpt, pat = at, pct = ct, pht = ht)
        {
            var one = Vector<float>.One;
            for (int n = 0; n < batch; n++)
            {
                float* row = pa + ((long)n * 4 * hh), trow = pat + ((long)n * 4 * hh);
                long e0 = (long)n * hh;
                int j = 0;
                for (; j <= hh - Lanes; j += Lanes)
                {
                    var i = Vector.Load(row + j);
                    var f = Vector.Load(row + hh + j);
                    var g = Vector.Load(row + (2 * hh) + j);
                    var o = Vector.Load(row + (3 * hh) + j);
                    var di = i * (one - i) * Vector.Load(trow + j);
                    var df = f * (one - f) * Vector.Load(trow + hh + j);
                    var dg = (one - (g * g)) * Vector.Load(trow + (2 * hh) + j);
                    var dout = o * (one - o) * Vector.Load(trow + (3 * hh) + j);
                    di.Store(trow + j);
                    df.Store(trow + hh + j);
                    dg.Store(trow + (2 * hh) + j);
                    dout.Store(trow + (3 * hh) + j);
                    long e = e0 + j;
                    var dc = (di * g) + (i * dg);
                    if (hasCp)
                    {
                        dc += df * Vector.Load(pcp + e);
                    }

                    if (hasCpt)
                    {
                        dc += f * Vector.Load(pcpt + e);
                    }

                    var kv = Vector.Load(pk + e);
                    dc.Store(pct + e);
                    ((dout * kv) + (o * (one - (kv * kv)) * dc)).Store(pht + e);
                }

                for (; j < hh; j++)
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
                    long e = e0 + j;
                    float dc = (di * g) + (i * dg);
                    if (hasCp)
                    {
                        dc += df * pcp[e];
                    }

                    if (hasCpt)
                    {
                        dc += f * pcpt[e];
                    }

                    float kv = pk[e];
                    pct[e] = dc;
                    pht[e] = (dout * kv) + (o * (1f - (kv * kv)) * dc);
                }
            }
        }
    }

    /// <inheritdoc />
    public unsafe void LstmCellBackward(DeviceBuffer gates, DeviceBuffer? previousCell, DeviceBuffer tanhCell, DeviceBuffer outputGradient,
        DeviceBuffer? recurrentGradient, int batch, int hidden, DeviceBuffer cellCarry, DeviceBuffer hiddenGradient, DeviceBuffer cellGradient,
        DeviceBuffer gateGradients)
    {
        int hh = hidden;
        long nh = (long)batch * hh;
        Need(gates, 4 * nh, "gates");
        Need(gateGradients, 4 * nh, "gate gradients");
        Need(previousCell, nh, "previous cell");
        Need(recurrentGradient, nh, "recurrent gradient");
        foreach (var (buffer, name) in new[] { (tanhCell, "tanh cell"), (outputGradient, "output gradient"), (cellCarry, "cell carry"), (hiddenGradient, "hidden gradient"), (cellGradient, "cell gradient") })
        {
            Need(buffer, nh, name);
        }

        ReadOnlySpan<float> a = Cpu(gates).Span, k = Cpu(tanhCell).Span, cp = Read(previousCell), dy = Cpu(outputGradient).Span, dr = Read(recurrentGradient);
        Span<float> carry = Cpu(cellCarry).Span, dh = Cpu(hiddenGradient).Span, dc = Cpu(cellGradient).Span, da = Cpu(gateGradients).Span;
        bool hasCp = !cp.IsEmpty, hasDr = !dr.IsEmpty;
        fixed (float* pa = a, pk = k, pcp = cp, pdy = dy, pdr = dr, pcarry = carry, pdh = dh, pdc = dc, pda = da)
        {
            var one = Vector<float>.One;
            for (int n = 0; n < batch; n++)
            {
                float* row = pa + ((long)n * 4 * hh), drow = pda + ((long)n * 4 * hh);
                long e0 = (long)n * hh;
                int j = 0;
                for (; j <= hh - Lanes; j += Lanes)
                {
                    var i = Vector.Load(row + j);
                    var f = Vector.Load(row + hh + j);
                    var g = Vector.Load(row + (2 * hh) + j);
                    var o = Vector.Load(row + (3 * hh) + j);
                    long e = e0 + j;
                    var kv = Vector.Load(pk + e);
                    var hb = Vector.Load(pdy + e);
                    if (hasDr)
                    {
                        hb += Vector.Load(pdr + e);
                    }

                    var cb = (hb * o * (one - (kv * kv))) + Vector.Load(pcarry + e);
                    var cpv = hasCp ? Vector.Load(pcp + e) : Vector<float>.Zero;
                    hb.Store(pdh + e);
                    cb.Store(pdc + e);
                    (cb * g * i * (one - i)).Store(drow + j);
                    (cb * cpv * f * (one - f)).Store(drow + hh + j);
                    (cb * i * (one - (g * g))).Store(drow + (2 * hh) + j);
                    (hb * kv * o * (one - o)).Store(drow + (3 * hh) + j);
                    (cb * f).Store(pcarry + e);
                }

                for (; j < hh; j++)
                {
                    float i = row[j], f = row[hh + j], g = row[(2 * hh) + j], o = row[(3 * hh) + j];
                    long e = e0 + j;
                    float kv = pk[e];
                    float hb = pdy[e] + (hasDr ? pdr[e] : 0f);
                    float cb = (hb * o * (1f - (kv * kv))) + pcarry[e];
                    float cpv = hasCp ? pcp[e] : 0f;
                    pdh[e] = hb;
                    pdc[e] = cb;
                    drow[j] = cb * g * i * (1f - i);
                    drow[hh + j] = cb * cpv * f * (1f - f);
                    drow[(2 * hh) + j] = cb * i * (1f - (g * g));
                    drow[(3 * hh) + j] = hb * kv * o * (1f - o);
                    pcarry[e] = cb * f;
                }
            }
        }
    }

    /// <inheritdoc />
    public unsafe void LstmCellBackwardTangent(DeviceBuffer gates, DeviceBuffer? previousCell, DeviceBuffer tanhCell, DeviceBuffer gateTangents,
        DeviceBuffer? previousCellTangent, DeviceBuffer cellTangent, DeviceBuffer hiddenGradient, DeviceBuffer cellGradient,
        DeviceBuffer? outputGradientTangent, DeviceBuffer? recurrentGradientTangent, int batch, int hidden, DeviceBuffer cellCarryTangent,
        DeviceBuffer gateGradientTangents)
    {
        int hh = hidden;
        long nh = (long)batch * hh;
        Need(gates, 4 * nh, "gates");
        Need(gateTangents, 4 * nh, "gate tangents");
        Need(gateGradientTangents, 4 * nh, "gate gradient tangents");
        foreach (var (buffer, name) in new[]
        {
            (previousCell, "previous cell"), (previousCellTangent, "previous cell tangent"), (outputGradientTangent, "output gradient tangent"),
            (recurrentGradientTangent, "recurrent gradient tangent"), (tanhCell, "tanh cell"), (cellTangent, "cell tangent"),
            (hiddenGradient, "hidden gradient"), (cellGradient, "cell gradient"), (cellCarryTangent, "cell carry tangent"),
        })
        {
            Need(buffer, nh, name);
        }

        ReadOnlySpan<float> a = Cpu(gates).Span, k = Cpu(tanhCell).Span, cp = Read(previousCell), at = Cpu(gateTangents).Span;
        ReadOnlySpan<float> cpt = Read(previousCellTangent), ct = Cpu(cellTangent).Span, dh = Cpu(hiddenGradient).Span, dc = Cpu(cellGradient).Span;
        ReadOnlySpan<float> rdy = Read(outputGradientTangent), rdr = Read(recurrentGradientTangent);
        Span<float> rcarry = Cpu(cellCarryTangent).Span, rda = Cpu(gateGradientTangents).Span;
        bool hasCp = !cp.IsEmpty, hasCpt = !cpt.IsEmpty, hasRdy = !rdy.IsEmpty, hasRdr = !rdr.IsEmpty;
        fixed (float* pa = a, pk = k, pcp = cp, pat = at, pcpt = cpt, pct = ct, pdh = dh, pdc = dc, prdy = rdy, prdr = rdr, prc = rcarry, prda = rda)
        {
            var one = Vector<float>.One;
            var two = Vector.Create(2f);
            for (int n = 0; n < batch; n++)
            {
                float* row = pa + ((long)n * 4 * hh), trow = pat + ((long)n * 4 * hh), rrow = prda + ((long)n * 4 * hh);
                long e0 = (long)n * hh;
                int j = 0;
                for (; j <= hh - Lanes; j += Lanes)
                {
                    var i = Vector.Load(row + j);
                    var f = Vector.Load(row + hh + j);
                    var g = Vector.Load(row + (2 * hh) + j);
                    var o = Vector.Load(row + (3 * hh) + j);
                    var di = Vector.Load(trow + j);
                    var df = Vector.Load(trow + hh + j);
                    var dg = Vector.Load(trow + (2 * hh) + j);
                    var dout = Vector.Load(trow + (3 * hh) + j);
                    long e = e0 + j;
                    var kv = Vector.Load(pk + e);
                    var kd = one - (kv * kv);
                    var dk = kd * Vector.Load(pct + e);
                    var hb = Vector.Load(pdh + e);
                    var cb = Vector.Load(pdc + e);
                    var cpv = hasCp ? Vector.Load(pcp + e) : Vector<float>.Zero;
                    var cptv = hasCpt ? Vector.Load(pcpt + e) : Vector<float>.Zero;
                    var rhb = hasRdy ? Vector.Load(prdy + e) : Vector<float>.Zero;
                    if (hasRdr)
                    {
                        rhb += Vector.Load(prdr + e);
                    }

                    var rcb = (rhb * o * kd) + (hb * dout * kd) - (two * hb * o * kv * dk) + Vector.Load(prc + e);
                    var ib = cb * g;
                    var fb = cb * cpv;
                    var gb = cb * i;
                    var ob = hb * kv;
                    var rib = (rcb * g) + (cb * dg);
                    var rfb = (rcb * cpv) + (cb * cptv);
                    var rgb = (rcb * i) + (cb * di);
                    var rob = (rhb * kv) + (hb * dk);
                    ((rib * i * (one - i)) + (ib * (one - (two * i)) * di)).Store(rrow + j);
                    ((rfb * f * (one - f)) + (fb * (one - (two * f)) * df)).Store(rrow + hh + j);
                    ((rgb * (one - (g * g))) - (two * gb * g * dg)).Store(rrow + (2 * hh) + j);
                    ((rob * o * (one - o)) + (ob * (one - (two * o)) * dout)).Store(rrow + (3 * hh) + j);
                    ((rcb * f) + (cb * df)).Store(prc + e);
                }

                for (; j < hh; j++)
                {
                    float i = row[j], f = row[hh + j], g = row[(2 * hh) + j], o = row[(3 * hh) + j];
                    float di = trow[j], df = trow[hh + j], dg = trow[(2 * hh) + j], dout = trow[(3 * hh) + j];
                    long e = e0 + j;
                    float kv = pk[e], kd = 1f - (kv * kv);
                    float dk = kd * pct[e];
                    float hb = pdh[e], cb = pdc[e];
                    float cpv = hasCp ? pcp[e] : 0f, cptv = hasCpt ? pcpt[e] : 0f;

                    // R{h̄} = R{ȳ} + R{recurrent carry}; R{c̄} = R{h̄}·o·k' + h̄·ȯ·k' − 2·h̄·o·k·k̇ + R{c̄ carry}
                    float rhb = (hasRdy ? prdy[e] : 0f) + (hasRdr ? prdr[e] : 0f);
                    float rcb = (rhb * o * kd) + (hb * dout * kd) - (2f * hb * o * kv * dk) + prc[e];

                    // gate adjoints before the activation and their tangents
                    float ib = cb * g, fb = cb * cpv, gb = cb * i, ob = hb * kv;
                    float rib = (rcb * g) + (cb * dg), rfb = (rcb * cpv) + (cb * cptv), rgb = (rcb * i) + (cb * di), rob = (rhb * kv) + (hb * dk);
                    rrow[j] = (rib * i * (1f - i)) + (ib * (1f - (2f * i)) * di);
                    rrow[hh + j] = (rfb * f * (1f - f)) + (fb * (1f - (2f * f)) * df);
                    rrow[(2 * hh) + j] = (rgb * (1f - (g * g))) - (2f * gb * g * dg);
                    rrow[(3 * hh) + j] = (rob * o * (1f - o)) + (ob * (1f - (2f * o)) * dout);
                    prc[e] = (rcb * f) + (cb * df);
                }
            }
        }
    }
}
