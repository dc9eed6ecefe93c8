import Dispatch
import Foundation

/// The one place that decides how work is split over cores.
///
/// Kernels call the package's `parallelFor`; nothing else in the package spawns compute threads
/// (the batch loader's workers are the exception). Every kernel and predictor takes an explicit `threads:` argument;
/// when a call gives none, it uses ``defaultThreads``, a task-local value whose default is the machine's active
/// processor count (``processorCount``). An application that wants fewer threads for a piece of work binds it for
/// that scope only, without changing anything for the rest of the process:
///
/// ```swift
/// let labels = try ThreadSettings.withThreads(2) {
///     try model.predict(imageFiles: files)
/// }
/// // async code: try await ThreadSettings.$defaultThreads.withValue(2) { try await work() }
/// ```
///
/// The binding is seen by the code that runs inside the scope on the same thread and by child tasks.
/// The package's `parallelFor` and the training batch loader carry it over to the threads they
/// start; a thread or dispatch queue of your own starts with the default again.
///
/// The thread count is only the package's own parallelism: an OpenBLAS left multi-threaded by the application adds
/// its threads on top (see ``ProcessTuning``).
public enum ThreadSettings {
    /// The number of processors the system has made available to the process (`activeProcessorCount`), read once:
    /// the default of ``defaultThreads``.
    public static let processorCount = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// The number of threads kernels use when a call gives none: the value bound in the current scope with
    /// ``withThreads(_:_:)`` (or `ThreadSettings.$defaultThreads.withValue(_:operation:)`), else ``processorCount``.
    ///
    /// Nothing in the package reads an environment variable for it or sets it for the whole process; the `nnunet`
    /// commands pass their thread flags explicitly.
    @TaskLocal public static var defaultThreads: Int = processorCount

    /// Runs `body` with ``defaultThreads`` bound to `count` (at least 1) and returns its result.
    ///
    /// - Parameters:
    ///   - count: the thread count for calls inside `body` that give none.
    ///   - body: the work.
    /// - Returns: what `body` returns.
    public static func withThreads<Result>(_ count: Int, _ body: () throws -> Result) rethrows -> Result {
        try $defaultThreads.withValue(max(1, count), operation: body)
    }
}

/// Runs `body(range)` over contiguous chunks of `0..<count`, on up to `threads` threads, and returns when all chunks
/// are done. Chunks are balanced (sizes differ by at most one); with one thread or a tiny count it runs inline.
/// Package access: the library targets' one way to split work over cores, not public API.
///
/// - Parameters:
///   - count: number of work items.
///   - threads: maximum parallelism (default: ``ThreadSettings/defaultThreads`` of the calling scope).
///   - minimumChunk: do not split below this many items per chunk.
///   - body: called once per chunk, possibly concurrently; must only write to memory owned by its range.
package func parallelFor(_ count: Int, threads: Int = ThreadSettings.defaultThreads, minimumChunk: Int = 1,
                        body: (Range<Int>) -> Void) {
    guard count > 0 else { return }
    let chunks = max(1, min(threads, count / max(minimumChunk, 1)))
    if chunks == 1 {
        body(0..<count)
        return
    }
    // Dispatch's worker threads do not see the caller's task-local values: carry the default thread count over, so
    // that a kernel called inside `body` without `threads:` behaves as it would on the calling thread.
    let inherited = ThreadSettings.defaultThreads
    withoutActuallyEscaping(body) { body in
        let box = UnsafeSendableBox(body)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let start = chunk * count / chunks, end = (chunk + 1) * count / chunks
            ThreadSettings.$defaultThreads.withValue(inherited) { box.value(start..<end) }
        }
    }
}

/// Carries a non-Sendable closure into `concurrentPerform`; safe because `parallelFor` waits for all chunks and the
/// caller promises disjoint writes.
struct UnsafeSendableBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
