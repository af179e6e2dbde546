namespace OnePass.Export; internal static class Placeholder { }
