using OnePass.Training.Data;

namespace OnePass.Training.Tests.Data;

public sealed class Cifar10Tests
{
    private static readonly double[] Mean = [0.4914, 0.4822, 0.4465];
    private static readonly double[] Std = [0.247, 0.243, 0.261];

    /// <summary>Checks every stored value of a row against the raw bytes of image <paramref name="image"/>.</summary>
    private static void AssertImage(DataSet data, DataSplit split, int row, int image)
    {
        var stored = split.InputRow(row);
        var raw = new float[Cifar10.InputWidth];
        for (int c = 0; c < 3; c++)
        {
            for (int y = 0; y < 32; y++)
            {
                for (int x = 0; x < 32; x++)
                {
                    int f = c * 1024 + y * 32 + x;
                    byte b = Cifar10Files.Pixel(image, c, y * 32 + x);
                    raw[f] = b;
                    double expected = (b / 255.0 - Mean[c]) / Std[c];
                    Assert.Equal(expected, stored[f], 1e-5);
                }
            }
        }

        // The stored values are exactly what the data set's normalisation makes of the raw bytes.
        var normalised = new float[Cifar10.InputWidth];
        data.Normalisation.NormaliseInput(raw, normalised);
        Assert.Equal(normalised, stored.ToArray());
        Assert.Equal(Cifar10Files.Label(image), split.Targets[row]);
    }

    [Fact]
    public void Synthetic_set_loads_in_file_order_with_plane_order_and_per_channel_normalisation()
    {
        using var temp = new TempDirectory();
        Cifar10Files.WriteSet(temp.Path);

        DataSet data = Cifar10.Load(temp.Path, validationCount: 40);

        Assert.Equal("cifar10", data.Name);
        Assert.Equal(TaskKind.Classification, data.Task);
        Assert.Equal(3072, data.InputWidth);
        Assert.Equal(10, data.OutputWidth);
        Assert.Equal(110, data.Train.Count);
        Assert.Equal(40, data.Validation.Count);
        Assert.Equal(20, data.Test.Count);
        Assert.Equal(1, data.Train.TargetWidth);

        // Normalisation in byte units, constant within each colour plane.
        Assert.Equal(3072, data.Normalisation.InputWidth);
        for (int f = 0; f < 3072; f++)
        {
            int c = f / 1024;
            Assert.Equal((float)(255 * Mean[c]), data.Normalisation.InputMean[f]);
            Assert.Equal((float)(255 * Std[c]), data.Normalisation.InputStd[f]);
        }

        Assert.Equal(0f, data.Normalisation.TargetMean);
        Assert.Equal(1f, data.Normalisation.TargetStd);

        // Images 0..109 train (across file boundaries), 110..149 validate, the test file tests.
        foreach (int image in new[] { 0, 1, 29, 30, 31, 59, 60, 89, 90, 109 })
        {
            AssertImage(data, data.Train, image, image);
        }

        foreach (int image in new[] { 110, 119, 120, 149 })
        {
            AssertImage(data, data.Validation, image - 110, image);
        }

        for (int r = 0; r < 20; r++)
        {
            AssertImage(data, data.Test, r, Cifar10Files.FirstTestImage + r);
        }

        Assert.Equal(Enumerable.Range(0, 110).Select(i => (float)Cifar10Files.Label(i)), data.Train.Targets);
        Assert.Equal(Enumerable.Range(110, 40).Select(i => (float)Cifar10Files.Label(i)), data.Validation.Targets);
    }

    [Fact]
    public void Batch_files_may_hold_different_record_counts()
    {
        using var temp = new TempDirectory();
        Cifar10Files.WriteSet(temp.Path, [3, 1, 7, 2, 5]);

        DataSet data = Cifar10.Load(temp.Path, validationCount: 6);

        Assert.Equal(12, data.Train.Count);
        Assert.Equal(6, data.Validation.Count);
        for (int image = 0; image < 12; image++)
        {
            AssertImage(data, data.Train, image, image);
        }

        for (int image = 12; image < 18; image++)
        {
            AssertImage(data, data.Validation, image - 12, image);
        }
    }

    [Fact]
    public void Validation_count_zero_keeps_every_training_image()
    {
        using var temp = new TempDirectory();
        Cifar10Files.WriteSet(temp.Path);

        DataSet data = Cifar10.Load(temp.Path, validationCount: 0);

        Assert.Equal(150, data.Train.Count);
        Assert.Equal(0, data.Validation.Count);
        Assert.Empty(data.Validation.Inputs);
    }

    [Fact]
    public void Validation_count_must_leave_training_images()
    {
        using var temp = new TempDirectory();
        Cifar10Files.WriteSet(temp.Path);

        // The default (5 000) exceeds the 150 synthetic training images.
        var e = Assert.Throws<DataFormatException>(() => Cifar10.Load(temp.Path));
        Assert.Contains("hold 150 images", e.Message);
        Assert.Contains(temp.Path, e.Message);

        Assert.Throws<DataFormatException>(() => Cifar10.Load(temp.Path, validationCount: 150));
        Assert.Throws<ArgumentOutOfRangeException>(() => Cifar10.Load(temp.Path, validationCount: -1));
        Assert.Equal(1, Cifar10.Load(temp.Path, validationCount: 149).Train.Count);

        // A proportion is of the images there are (0.1 of 150 is 15), not of the official 50 000.
        var split = Cifar10.Load(temp.Path, validationProportion: 0.1);
        Assert.Equal(15, split.Validation.Count);
        Assert.Equal(135, split.Train.Count);
    }

    [Fact]
    public void Folder_holding_cifar_10_batches_bin_is_resolved_into_it()
    {
        using var temp = new TempDirectory();
        string batches = Path.Combine(temp.Path, "cifar-10-batches-bin");
        Cifar10Files.WriteSet(batches);

        Assert.Equal(batches, Cifar10.ResolveDirectory(temp.Path));
        Assert.Equal(batches, Cifar10.ResolveDirectory(batches));
        DataSet data = Cifar10.Load(temp.Path, validationCount: 10);

        Assert.Equal(140, data.Train.Count);
        AssertImage(data, data.Test, 19, Cifar10Files.FirstTestImage + 19);
    }

    [Fact]
    public void Truncated_file_names_the_file_and_its_length()
    {
        using var temp = new TempDirectory();
        Cifar10Files.WriteSet(temp.Path);
        string path = Path.Combine(temp.Path, "data_batch_3.bin");
        File.WriteAllBytes(path, File.ReadAllBytes(path)[..(2 * 3073 + 100)]);

        var e = Assert.Throws<DataFormatException>(() => Cifar10.Load(temp.Path, validationCount: 1));

        Assert.Equal(path, e.FilePath);
        Assert.Contains(path, e.Message);
        Assert.Contains("length 6246 bytes is not a positive multiple of the 3073-byte record", e.Message);
    }

    [Fact]
    public void Empty_file_is_rejected()
    {
        using var temp = new TempDirectory();
        Cifar10Files.WriteSet(temp.Path);
        string path = Path.Combine(temp.Path, "test_batch.bin");
        File.WriteAllBytes(path, []);

        var e = Assert.Throws<DataFormatException>(() => Cifar10.Load(temp.Path, validationCount: 1));

        Assert.Equal(path, e.FilePath);
        Assert.Contains("length 0 bytes", e.Message);
    }

    [Fact]
    public void Label_out_of_range_names_the_file_and_record()
    {
        using var temp = new TempDirectory();
        Cifar10Files.WriteSet(temp.Path);
        string path = Path.Combine(temp.Path, "test_batch.bin");
        byte[] bytes = File.ReadAllBytes(path);
        bytes[7 * 3073] = 10;
        File.WriteAllBytes(path, bytes);

        var e = Assert.Throws<DataFormatException>(() => Cifar10.Load(temp.Path, validationCount: 1));

        Assert.Equal(path, e.FilePath);
        Assert.Contains("record 7", e.Message);
        Assert.Contains("label 10 is out of range 0..9", e.Message);
    }

    [Fact]
    public void Missing_file_is_named()
    {
        using var temp = new TempDirectory();
        Cifar10Files.WriteSet(temp.Path);
        string path = Path.Combine(temp.Path, "data_batch_4.bin");
        File.Delete(path);

        var e = Assert.Throws<DataFormatException>(() => Cifar10.Load(temp.Path, validationCount: 1));

        Assert.Equal(path, e.FilePath);
        Assert.Contains("file not found", e.Message);
    }

    [Fact]
    public void Empty_folder_reports_the_first_missing_file_there()
    {
        using var temp = new TempDirectory();

        var e = Assert.Throws<DataFormatException>(() => Cifar10.Load(temp.Path, validationCount: 1));

        Assert.Equal(Path.Combine(temp.Path, "data_batch_1.bin"), e.FilePath);
    }
}
