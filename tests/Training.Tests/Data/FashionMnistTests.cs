using OnePass.Training.Data;

namespace OnePass.Training.Tests.Data;

public sealed class FashionMnistTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Synthetic_set_round_trips_with_normalisation_in_byte_units(bool gzip)
    {
        using var temp = new TempDirectory();
        IdxFiles.WriteSet(temp.Path, gzip);

        DataSet data = FashionMnist.Load(temp.Path, validationCount: 1);

        Assert.Equal(TaskKind.Classification, data.Task);
        Assert.Equal(4, data.InputWidth);
        Assert.Equal(10, data.OutputWidth);
        Assert.Equal(2, data.Train.Count);
        Assert.Equal(1, data.Validation.Count);
        Assert.Equal(2, data.Test.Count);

        // Training split = images 0 and 1: pixels 0,10,...,70 → mean 35, population variance 525.
        float std = MathF.Sqrt(525f);
        Assert.All(data.Normalisation.InputMean, m => Assert.Equal(35f, m, 4));
        Assert.All(data.Normalisation.InputStd, s => Assert.Equal(std, s, 3));
        Assert.Equal(0f, data.Normalisation.TargetMean);
        Assert.Equal(1f, data.Normalisation.TargetStd);

        for (int p = 0; p < 4; p++)
        {
            Assert.Equal((IdxFiles.Pixel(0, p) - 35f) / std, data.Train.Inputs[p], 5);
            Assert.Equal((IdxFiles.Pixel(1, p) - 35f) / std, data.Train.Inputs[4 + p], 5);
            Assert.Equal((IdxFiles.Pixel(2, p) - 35f) / std, data.Validation.Inputs[p], 5);
            Assert.Equal((201 + p - 35f) / std, data.Test.Inputs[4 + p], 5);
        }

        Assert.Equal([1f, 9f], data.Train.Targets);
        Assert.Equal([0f], data.Validation.Targets);
        Assert.Equal([4f, 5f], data.Test.Targets);

        // Normalised training pixels have mean 0 and std 1.
        Assert.Equal(0.0, data.Train.Inputs.Average(), 5);
        Assert.Equal(1.0, Math.Sqrt(data.Train.Inputs.Average(v => (double)v * v)), 5);
    }

    [Fact]
    public void Gzip_is_detected_by_magic_bytes_even_without_the_suffix()
    {
        using var temp = new TempDirectory();
        IdxFiles.WriteSet(temp.Path, gzip: false);
        string path = Path.Combine(temp.Path, FashionMnist.TrainImagesFile);
        File.WriteAllBytes(path, IdxFiles.Gzip(File.ReadAllBytes(path)));

        DataSet data = FashionMnist.Load(temp.Path, validationCount: 1);

        Assert.Equal((IdxFiles.Pixel(1, 3) - data.Normalisation.InputMean[3]) / data.Normalisation.InputStd[3],
            data.Train.Inputs[7], 5);
    }

    [Fact]
    public void Truncated_gzip_names_the_file_and_the_truncation()
    {
        using var temp = new TempDirectory();
        IdxFiles.WriteSet(temp.Path, gzip: true);
        string path = Path.Combine(temp.Path, FashionMnist.TrainImagesFile + ".gz");
        byte[] full = IdxFiles.Gzip(IdxFiles.Images(300, 4, 4, (i, p) => (byte)((i * 7 + p * 13) % 251)));
        File.WriteAllBytes(path, full[..(full.Length / 2)]);

        var e = Assert.Throws<DataFormatException>(() => FashionMnist.Load(temp.Path, validationCount: 1));

        Assert.Equal(path, e.FilePath);
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated gzip", e.Message);
        Assert.Matches(@"ends after \d+ of 4816 bytes", e.Message);
    }

    [Fact]
    public void Truncated_raw_file_reports_how_many_bytes_were_read()
    {
        using var temp = new TempDirectory();
        IdxFiles.WriteSet(temp.Path, gzip: false);
        string path = Path.Combine(temp.Path, FashionMnist.TrainLabelsFile);
        File.WriteAllBytes(path, IdxFiles.Labels([1, 2, 3])[..10]);

        var e = Assert.Throws<DataFormatException>(() => FashionMnist.Load(temp.Path, validationCount: 1));

        Assert.Contains(path, e.Message);
        Assert.Contains("ends after 10 of 11 bytes", e.Message);
    }

    [Fact]
    public void Wrong_magic_number_is_reported_in_hex()
    {
        using var temp = new TempDirectory();
        IdxFiles.WriteSet(temp.Path, gzip: false);
        string path = Path.Combine(temp.Path, FashionMnist.TestImagesFile);
        File.WriteAllBytes(path, IdxFiles.Images(2, 2, 2, (_, _) => 0, magic: 0x00000802));

        var e = Assert.Throws<DataFormatException>(() => FashionMnist.Load(temp.Path, validationCount: 1));

        Assert.Contains(path, e.Message);
        Assert.Contains("wrong magic number: expected 0x00000803, found 0x00000802", e.Message);
    }

    [Fact]
    public void Labels_file_in_place_of_images_is_recognised()
    {
        using var temp = new TempDirectory();
        IdxFiles.WriteSet(temp.Path, gzip: false);
        string path = Path.Combine(temp.Path, FashionMnist.TrainImagesFile);
        File.WriteAllBytes(path, IdxFiles.Labels([1, 2, 3]));

        var e = Assert.Throws<DataFormatException>(() => FashionMnist.Load(temp.Path, validationCount: 1));

        Assert.Contains(path, e.Message);
        Assert.Contains("expected 0x00000803, found 0x00000801 (this is a labels file)", e.Message);
    }

    [Fact]
    public void Image_and_label_count_mismatch_names_both_files()
    {
        using var temp = new TempDirectory();
        IdxFiles.WriteSet(temp.Path, gzip: false);
        string labels = Path.Combine(temp.Path, FashionMnist.TrainLabelsFile);
        string images = Path.Combine(temp.Path, FashionMnist.TrainImagesFile);
        File.WriteAllBytes(labels, IdxFiles.Labels([1, 2]));

        var e = Assert.Throws<DataFormatException>(() => FashionMnist.Load(temp.Path, validationCount: 1));

        Assert.Equal(labels, e.FilePath);
        Assert.Contains($"has 2 labels but {images} has 3 images", e.Message);
    }

    [Fact]
    public void Label_out_of_range_is_reported_with_its_index()
    {
        using var temp = new TempDirectory();
        IdxFiles.WriteSet(temp.Path, gzip: true);
        string labels = Path.Combine(temp.Path, FashionMnist.TestLabelsFile + ".gz");
        File.WriteAllBytes(labels, IdxFiles.Gzip(IdxFiles.Labels([3, 10])));

        var e = Assert.Throws<DataFormatException>(() => FashionMnist.Load(temp.Path, validationCount: 1));

        Assert.Contains(labels, e.Message);
        Assert.Contains("label 10 at index 1 is out of range 0..9", e.Message);
    }

    [Fact]
    public void Missing_file_lists_the_paths_expected()
    {
        using var temp = new TempDirectory();
        IdxFiles.WriteSet(temp.Path, gzip: false);
        string path = Path.Combine(temp.Path, FashionMnist.TestLabelsFile);
        File.Delete(path);

        var e = Assert.Throws<DataFormatException>(() => FashionMnist.Load(temp.Path, validationCount: 1));

        Assert.Contains("file not found", e.Message);
        Assert.Contains(path + ".gz", e.Message);
    }

    [Fact]
    public void Validation_count_must_leave_training_images()
    {
        using var temp = new TempDirectory();
        IdxFiles.WriteSet(temp.Path, gzip: false);

        var e = Assert.Throws<DataFormatException>(() => FashionMnist.Load(temp.Path, validationCount: 3));
        Assert.Contains("train-images-idx3-ubyte", e.Message);
        Assert.Contains("leaves none for training", e.Message);
    }
}
