namespace OnePass.Native.Interop; internal static class Placeholder { }
