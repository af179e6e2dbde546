using OnePass.Training.Configuration;

namespace OnePass.Training.Optimisation;

/// <summary>Creates the hyperparameter optimiser a configuration's <c>algorithm</c> names.</summary>
public static class HyperOptimiserFactory
{
    /// <summary>The optimiser for <see cref="TrainingConfig.Algorithm"/>.</summary>
    public static IHyperOptimiser Create(TrainingConfig config) => config.Algorithm switch
    {
        "random" => new RandomHyperOptimiser(config.NetworkWeightSteps),
        "baydin" => new BaydinHyperOptimiser(),
        "diff-through-opt" => new DiffThroughOptHyperOptimiser(config.NetworkWeightSteps, config.HyperparameterRollbackDistance, config.HyperLr),
        "lorraine" => Neumann(config, HyperparameterKind.WeightDecay),
        "ours-wd-lr" => Neumann(config, HyperparameterKind.WeightDecay, HyperparameterKind.LearningRate),
        "ours-wd-lr-m" or "ours-wd-hdlr-m" => Neumann(config, HyperparameterKind.WeightDecay, HyperparameterKind.LearningRate, HyperparameterKind.Momentum),
        _ => throw new ConfigException($"{config.Source}: algorithm '{config.Algorithm}' is not available in this build"),
    };

    private static NeumannHyperOptimiser Neumann(TrainingConfig config, params HyperparameterKind[] tuned) =>
        new(config.Algorithm, config.NetworkWeightSteps, config.HyperparameterRollbackDistance, config.HyperLr, tuned);
}
