namespace OnePass.Training.Data;

/// <summary>
/// Loads Fashion-MNIST from the four official IDX files (raw or gzip). The raw input of the data
/// set is the pixel byte 0..255; the <see cref="Normalisation"/> is in byte units.
/// </summary>
public static class FashionMnist
{
    /// <summary>Data set name used in <see cref="DataSet.Name"/>.</summary>
    public const string Name = "fashion-mnist";

    /// <summary>Number of classes.</summary>
    public const int ClassCount = 10;

    /// <summary>Training images file name (without <c>.gz</c>).</summary>
    public const string TrainImagesFile = "train-images-idx3-ubyte";

    /// <summary>Training labels file name (without <c>.gz</c>).</summary>
    public const string TrainLabelsFile = "train-labels-idx1-ubyte";

    /// <summary>Test images file name (without <c>.gz</c>).</summary>
    public const string TestImagesFile = "t10k-images-idx3-ubyte";

    /// <summary>Test labels file name (without <c>.gz</c>).</summary>
    public const string TestLabelsFile = "t10k-labels-idx1-ubyte";

    /// <summary>The four file names (without <c>.gz</c>) that make up the data set.</summary>
    public static IReadOnlyList<string> FileNames { get; } =
        [TrainImagesFile, TrainLabelsFile, TestImagesFile, TestLabelsFile];

    /// <summary>
    /// The path of <paramref name="fileName"/> in <paramref name="directory"/>: the raw file if
    /// present, else the <c>.gz</c> file if present, else null.
    /// </summary>
    public static string? FindFile(string directory, string fileName)
    {
        string raw = Path.Combine(directory, fileName);
        if (File.Exists(raw))
        {
            return raw;
        }

        string gz = raw + ".gz";
        return File.Exists(gz) ? gz : null;
    }

    /// <summary>
    /// Loads the data set. The last <paramref name="validationCount"/> training images form the
    /// validation split; inputs are normalised with the mean and population standard deviation of
    /// all pixels of the (remaining) training split, the same for every feature.
    /// </summary>
    /// <param name="directory">Folder holding the four IDX files, raw or <c>.gz</c>.</param>
    /// <param name="validationCount">Training images held out for validation (default 10 000).</param>
    /// <exception cref="DataFormatException">A file is missing or malformed.</exception>
    public static DataSet Load(string directory, int validationCount = 10000)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentOutOfRangeException.ThrowIfNegative(validationCount);

        string[] paths = new string[FileNames.Count];
        for (int i = 0; i < paths.Length; i++)
        {
            paths[i] = FindFile(directory, FileNames[i]) ?? throw new DataFormatException(
                Path.Combine(directory, FileNames[i]),
                $"file not found (expected {Path.Combine(directory, FileNames[i])} or {Path.Combine(directory, FileNames[i])}.gz).");
        }

        // Decompress the four files concurrently; awaiting each rethrows its own exception.
        var trainImagesTask = Task.Run(() => IdxReader.ReadImages(paths[0]));
        var trainLabelsTask = Task.Run(() => IdxReader.ReadLabels(paths[1]));
        var testImagesTask = Task.Run(() => IdxReader.ReadImages(paths[2]));
        var testLabelsTask = Task.Run(() => IdxReader.ReadLabels(paths[3]));
        try
        {
            Task.WaitAll(trainImagesTask, trainLabelsTask, testImagesTask, testLabelsTask);
        }
        catch (AggregateException)
        {
            // Rethrow the first failure in file order, unwrapped.
        }

        IdxImages trainImages = trainImagesTask.GetAwaiter().GetResult();
        byte[] trainLabels = trainLabelsTask.GetAwaiter().GetResult();
        IdxImages testImages = testImagesTask.GetAwaiter().GetResult();
        byte[] testLabels = testLabelsTask.GetAwaiter().GetResult();

        CheckPair(trainImages, paths[0], trainLabels, paths[1]);
        CheckPair(testImages, paths[2], testLabels, paths[3]);
        if (testImages.Rows != trainImages.Rows || testImages.Columns != trainImages.Columns)
        {
            throw new DataFormatException(
                paths[2],
                $"has {testImages.Rows}×{testImages.Columns} images but {paths[0]} has {trainImages.Rows}×{trainImages.Columns}.");
        }

        if (validationCount >= trainImages.Count)
        {
            throw new DataFormatException(
                paths[0],
                $"holds {trainImages.Count} training images; a validation split of {validationCount} leaves none for training (validation_proportion sets the split).");
        }

        int width = trainImages.Rows * trainImages.Columns;
        int trainCount = trainImages.Count - validationCount;

        // Mean and population std over all training-split pixels, exactly, via a histogram.
        var histogram = new long[256];
        foreach (byte b in trainImages.Pixels.AsSpan(0, trainCount * width))
        {
            histogram[b]++;
        }

        long n = (long)trainCount * width;
        double sum = 0;
        double sumSq = 0;
        for (int v = 0; v < 256; v++)
        {
            sum += (double)histogram[v] * v;
            sumSq += (double)histogram[v] * v * v;
        }

        double mean = n > 0 ? sum / n : 0;
        double variance = n > 0 ? Math.Max(0, sumSq / n - mean * mean) : 1;
        var normalisation = new Normalisation(
            Enumerable.Repeat((float)mean, width).ToArray(),
            Enumerable.Repeat((float)Math.Sqrt(variance), width).ToArray());

        var table = new float[256];
        for (int v = 0; v < 256; v++)
        {
            table[v] = (v - normalisation.InputMean[0]) / normalisation.InputStd[0];
        }

        return new DataSet(
            Name,
            TaskKind.Classification,
            width,
            ClassCount,
            MakeSplit(trainImages.Pixels, trainLabels, 0, trainCount, width, table),
            MakeSplit(trainImages.Pixels, trainLabels, trainCount, validationCount, width, table),
            MakeSplit(testImages.Pixels, testLabels, 0, testImages.Count, width, table),
            normalisation)
        {
            ImageShape = [1, trainImages.Rows, trainImages.Columns],
        };
    }

    private static void CheckPair(IdxImages images, string imagesPath, byte[] labels, string labelsPath)
    {
        if (images.Count != labels.Length)
        {
            throw new DataFormatException(
                labelsPath, $"has {labels.Length} labels but {imagesPath} has {images.Count} images.");
        }

        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] >= ClassCount)
            {
                throw new DataFormatException(
                    labelsPath, $"label {labels[i]} at index {i} is out of range 0..{ClassCount - 1}.");
            }
        }
    }

    private static DataSplit MakeSplit(byte[] pixels, byte[] labels, int start, int count, int width, float[] table)
    {
        var inputs = new float[(long)count * width];
        var source = pixels.AsMemory(start * width, count * width);
        const int chunk = 1 << 20;
        int chunks = (inputs.Length + chunk - 1) / chunk;
        Parallel.For(0, chunks, c =>
        {
            int from = c * chunk;
            int to = Math.Min(inputs.Length, from + chunk);
            var src = source.Span;
            for (int i = from; i < to; i++)
            {
                inputs[i] = table[src[i]];
            }
        });

        var targets = new float[count];
        for (int i = 0; i < count; i++)
        {
            targets[i] = labels[start + i];
        }

        return new DataSplit(inputs, targets, count, width, 1);
    }
}
