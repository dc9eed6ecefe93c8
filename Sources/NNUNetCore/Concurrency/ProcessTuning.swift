import COpenBLAS

/// Process-wide settings that make training and inference faster, applied only when the application asks.
///
/// The package never changes process-wide state by itself: importing it or running a prediction leaves OpenBLAS's
/// thread count and the allocator as the application set them. Two settings help this package's workload, and the
/// `nnunet` and `nnunet-benchmark` executables apply both at start-up:
///
/// - ``Settings/singleThreadedBLAS``: OpenBLAS runs each product on one thread. The package already splits its work
///   over threads (the package's `parallelFor`; every convolution thread multiplies its own tiles),
///   so a multi-threaded OpenBLAS adds its threads on top of ours: with the default (one OpenBLAS thread per core) a
///   2-thread prediction runs up to 2 × 2 busy threads on 2 cores. See the *Threads and memory* article of
///   NNUNetTraining for the measured effect.
/// - ``Settings/reuseLargeBuffers``: ``AllocatorTuning/reuseLargeBuffers()``, glibc keeps freed blocks up to 256 MiB
///   for reuse instead of mapping each one afresh.
///
/// Call it once, early, from the application's entry point, before other threads start:
///
/// ```swift
/// @main struct App {
///     static func main() throws {
///         ProcessTuning.apply()   // OpenBLAS single-threaded, allocator keeps large buffers
///         ...
///     }
/// }
/// ```
///
/// An application that uses OpenBLAS elsewhere with several threads (numerics of its own) can skip
/// ``Settings/singleThreadedBLAS`` and accept some oversubscription, or lower ``ThreadSettings/defaultThreads`` for
/// the package's work instead.
///
/// ### See Also
/// - ``AllocatorTuning``
/// - ``ThreadSettings``
public enum ProcessTuning {
    /// The settings ``apply(_:)`` can make.
    public struct Settings: OptionSet, Sendable, Hashable {
        /// The bit mask.
        public let rawValue: Int

        /// Creates a set from its bit mask.
        public init(rawValue: Int) { self.rawValue = rawValue }

        /// OpenBLAS uses one thread per product (``useSingleThreadedBLAS()``).
        public static let singleThreadedBLAS = Settings(rawValue: 1 << 0)
        /// glibc keeps large freed blocks for reuse (``AllocatorTuning/reuseLargeBuffers()``).
        public static let reuseLargeBuffers = Settings(rawValue: 1 << 1)
        /// Both settings: what `nnunet` applies.
        public static let recommended: Settings = [.singleThreadedBLAS, .reuseLargeBuffers]
    }

    /// Applies `settings` to the whole process.
    ///
    /// Each call applies them again (so a setting the application changed in between is overridden).
    ///
    /// - Parameter settings: what to change (default: ``Settings/recommended``).
    /// - Returns: the settings that took effect (``Settings/reuseLargeBuffers`` is missing where the allocator is not
    ///   glibc's or refused the values).
    @discardableResult
    public static func apply(_ settings: Settings = .recommended) -> Settings {
        var applied: Settings = []
        if settings.contains(.singleThreadedBLAS) {
            useSingleThreadedBLAS()
            applied.insert(.singleThreadedBLAS)
        }
        if settings.contains(.reuseLargeBuffers), AllocatorTuning.reuseLargeBuffers() {
            applied.insert(.reuseLargeBuffers)
        }
        return applied
    }

    /// Sets OpenBLAS to one thread per product, for the whole process (`openblas_set_num_threads(1)`).
    public static func useSingleThreadedBLAS() {
        openblas_set_num_threads(1)
    }

    /// The number of threads OpenBLAS currently uses per product (`openblas_get_num_threads()`): the application's
    /// setting, OpenBLAS's default (`OPENBLAS_NUM_THREADS`, else one per core), or 1 after
    /// ``useSingleThreadedBLAS()``.
    public static var blasThreads: Int { Int(openblas_get_num_threads()) }
}
