namespace OnePass.Training; internal static class Placeholder { }
