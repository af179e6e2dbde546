using OnePass.Training.Configuration;

namespace OnePass.Training.Optimisation;

/// <summary>Creates the hyperparameter optimiser a configuration's <c>algorithm</c> names.</summary>
public static class HyperOptimiserFactory
{
    /// <summary>The optimiser for <see cref="TrainingConfig.Algorithm"/>.</summary>
    public static IHyperOptimiser Create(TrainingConfig config) => config.Algorithm switch
    {
        "random" => new RandomHyperOptimiser(config.NetworkWeightSteps),
        _ => throw new ConfigException($"{config.Source}: algorithm '{config.Algorithm}' is not available in this build"),
    };
}
