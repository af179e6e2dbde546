namespace OnePass.Export;

/// <summary>
/// Scores model outputs against true labels or targets, the way training reports them: accuracy and mean
/// cross-entropy from logits for classifiers, mean squared error over all elements for regression.
/// Sums are taken in double precision.
/// </summary>
public static class PredictionScoring
{
    /// <summary>
    /// Fraction of rows whose largest logit is at the labelled class (ties go to the lower index).
    /// <paramref name="logits"/> is rows × <paramref name="classes"/>; <paramref name="labels"/> holds one class index per row.
    /// </summary>
    public static double Accuracy(ReadOnlySpan<float> logits, ReadOnlySpan<float> labels, int classes)
    {
        int rows = CheckClassification(logits, labels, classes);
        int correct = 0;
        for (int r = 0; r < rows; r++)
        {
            var row = logits.Slice(r * classes, classes);
            int best = 0;
            for (int k = 1; k < classes; k++)
            {
                if (row[k] > row[best])
                {
                    best = k;
                }
            }

            if (best == (int)labels[r])
            {
                correct++;
            }
        }

        return rows == 0 ? double.NaN : (double)correct / rows;
    }

    /// <summary>Mean over rows of −log softmax(logits)[label], computed stably from the logits.</summary>
    public static double CrossEntropy(ReadOnlySpan<float> logits, ReadOnlySpan<float> labels, int classes)
    {
        int rows = CheckClassification(logits, labels, classes);
        double total = 0;
        for (int r = 0; r < rows; r++)
        {
            var row = logits.Slice(r * classes, classes);
            double max = double.NegativeInfinity;
            foreach (float z in row)
            {
                max = Math.Max(max, z);
            }

            double sum = 0;
            foreach (float z in row)
            {
                sum += Math.Exp(z - max);
            }

            total += max + Math.Log(sum) - row[(int)labels[r]];
        }

        return rows == 0 ? double.NaN : total / rows;
    }

    /// <summary>
    /// Mean over all elements of ((prediction − target) / <paramref name="scale"/>)²; a scale of the target
    /// standard deviation gives the loss on normalised targets that training reports.
    /// </summary>
    public static double MeanSquaredError(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, double scale = 1)
    {
        if (predictions.Length != targets.Length)
        {
            throw new ArgumentException($"{predictions.Length} predictions but {targets.Length} targets");
        }

        if (!(scale > 0) || !double.IsFinite(scale))
        {
            throw new ArgumentOutOfRangeException(nameof(scale), scale, "the scale must be positive and finite");
        }

        double total = 0;
        for (int i = 0; i < predictions.Length; i++)
        {
            double e = (predictions[i] - (double)targets[i]) / scale;
            total += e * e;
        }

        return predictions.Length == 0 ? double.NaN : total / predictions.Length;
    }

    /// <summary>
    /// Mean over all elements of ((prediction − target) / scale)², with one scale per column of row-major
    /// predictions that have <paramref name="scales"/>.Length columns (a single scale applies to every column):
    /// with the target standard deviations, the loss on normalised targets training reports for a multi-target model.
    /// </summary>
    public static double MeanSquaredError(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, ReadOnlySpan<double> scales)
    {
        if (predictions.Length != targets.Length)
        {
            throw new ArgumentException($"{predictions.Length} predictions but {targets.Length} targets");
        }

        int k = scales.Length;
        if (k == 0 || predictions.Length % k != 0)
        {
            throw new ArgumentException($"{predictions.Length} predictions are not whole rows of {k} columns");
        }

        foreach (double scale in scales)
        {
            if (!(scale > 0) || !double.IsFinite(scale))
            {
                throw new ArgumentOutOfRangeException(nameof(scales), scale, "every scale must be positive and finite");
            }
        }

        double total = 0;
        for (int i = 0; i < predictions.Length; i++)
        {
            double e = (predictions[i] - (double)targets[i]) / scales[i % k];
            total += e * e;
        }

        return predictions.Length == 0 ? double.NaN : total / predictions.Length;
    }

    /// <summary>Mean squared error of column <paramref name="column"/> of row-major predictions and targets with <paramref name="columns"/> columns.</summary>
    public static double MeanSquaredError(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, int columns, int column)
    {
        if (predictions.Length != targets.Length)
        {
            throw new ArgumentException($"{predictions.Length} predictions but {targets.Length} targets");
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(columns);
        ArgumentOutOfRangeException.ThrowIfNegative(column);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(column, columns);
        if (predictions.Length % columns != 0)
        {
            throw new ArgumentException($"{predictions.Length} predictions are not whole rows of {columns} columns");
        }

        double total = 0;
        int rows = predictions.Length / columns;
        for (int r = 0; r < rows; r++)
        {
            double e = predictions[(r * columns) + column] - (double)targets[(r * columns) + column];
            total += e * e;
        }

        return rows == 0 ? double.NaN : total / rows;
    }

    private static int CheckClassification(ReadOnlySpan<float> logits, ReadOnlySpan<float> labels, int classes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classes);
        int rows = labels.Length;
        if (logits.Length != (long)rows * classes)
        {
            throw new ArgumentException($"{logits.Length} logits do not make {rows} rows of {classes} classes");
        }

        for (int r = 0; r < rows; r++)
        {
            float y = labels[r];
            if (!(y >= 0 && y < classes && y == MathF.Floor(y)))
            {
                throw new ArgumentException($"label {y} at row {r + 1} is not a class index 0..{classes - 1}");
            }
        }

        return rows;
    }
}
